"""numpydoc with two changes: its template compiled once, and attributes described as written.

* numpydoc's ``get_doc_object`` makes a new Jinja environment, and so compiles its
  ``numpydoc_docstring.rst`` template again, for every docstring it renders; on this
  library's API reference that compiling was the largest single cost of the build. Here
  the compiled template of each builder is kept.
* In a class's ``Attributes`` section numpydoc replaces the description of an attribute
  whose value is callable and has a docstring by that docstring's first sentence: an
  attribute holding a class (``Family.cls = object``) was described by ``object``'s
  docstring. Here the docstring's own description is kept; numpydoc's summary is used
  only where the section gives none.

Use it in ``extensions`` instead of ``"numpydoc"``; everything else is numpydoc's own code
and settings.
"""

from numpydoc import docscrape_sphinx
from numpydoc import numpydoc as numpydoc_extension

_templates: dict[int, object] = {}


class ClassDoc(docscrape_sphinx.SphinxClassDoc):
    def _process_param(self, param, desc, fake_autosummary):
        display, summary = super()._process_param(param, desc, fake_autosummary)
        return display, (desc if any(line.strip() for line in desc) else summary)


def get_doc_object(obj, what=None, doc=None, config=None, builder=None):
    config = {} if config is None else config
    key = id(builder)
    if key not in _templates:  # numpydoc's own call, once: it compiles the template
        first = dict(config)
        docscrape_sphinx.get_doc_object(obj, what=what, doc=doc, config=first, builder=builder)
        _templates[key] = first["template"]
    config["template"] = _templates[key]
    return docscrape_sphinx.get_doc_object_orig(
        obj, what=what, doc=doc, config=config, class_doc=ClassDoc, func_doc=docscrape_sphinx.SphinxFunctionDoc,
        obj_doc=docscrape_sphinx.SphinxObjDoc)


def setup(app):
    return numpydoc_extension.setup(app, get_doc_object_=get_doc_object)
