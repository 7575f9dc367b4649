"""numpydoc, with its docstring template compiled once per build instead of once per docstring.

numpydoc's ``get_doc_object`` makes a new Jinja environment, and so compiles its
``numpydoc_docstring.rst`` template again, for every docstring it renders; on this
library's API reference that compiling was the largest single cost of the build. This
extension registers numpydoc (use it in ``extensions`` instead of ``"numpydoc"``) with a
``get_doc_object`` that keeps the compiled template of each builder; the docstrings are
rendered by numpydoc's own code, with the same template and settings.
"""

from numpydoc import docscrape_sphinx
from numpydoc import numpydoc as numpydoc_extension

_templates: dict[int, object] = {}


def get_doc_object(obj, what=None, doc=None, config=None, builder=None):
    config = {} if config is None else config
    key = id(builder)
    if key not in _templates:  # numpydoc's own call, once: it compiles the template
        first = dict(config)
        docscrape_sphinx.get_doc_object(obj, what=what, doc=doc, config=first, builder=builder)
        _templates[key] = first["template"]
    config["template"] = _templates[key]
    return docscrape_sphinx.get_doc_object_orig(
        obj, what=what, doc=doc, config=config, class_doc=docscrape_sphinx.SphinxClassDoc,
        func_doc=docscrape_sphinx.SphinxFunctionDoc, obj_doc=docscrape_sphinx.SphinxObjDoc)


def setup(app):
    return numpydoc_extension.setup(app, get_doc_object_=get_doc_object)
