"""The English search index of the site with each word stemmed once.

Sphinx's English search language stems every word of every page with the pure-Python
Snowball stemmer, again for each occurrence: on this site's API reference that was about
a twentieth of the whole build. A word's stem depends on the word only, so
:class:`SearchEnglish` keeps the stems it has computed; the index it builds is the same.
"""

from __future__ import annotations

from sphinx.search.en import SearchEnglish as _SphinxEnglish


class SearchEnglish(_SphinxEnglish):
    """Sphinx's English search language, its stems remembered per word."""

    def __init__(self, options: dict[str, str]) -> None:
        super().__init__(options)
        self._stems: dict[str, str] = {}

    def stem(self, word: str) -> str:
        """The stem of ``word`` (Sphinx's own, computed once per distinct word)."""
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = super().stem(word)
        return stem


def setup(app):
    app.add_search_language(SearchEnglish)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
