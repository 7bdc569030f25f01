"""F1, "What am I looking at?": the help page of the tab on screen, its formulas drawn by mathtext."""
from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from otviz.help.pages import HelpPage, help_page

FORMULA_DPI_SCALE = 2          # drawn at twice the size shown: sharp on high-density screens and projectors


def page_html(page: HelpPage, formula_urls: list[str], widths: list[int]) -> str:
    """The page as HTML; formula i is the image at formula_urls[i], shown widths[i] pixels wide."""
    e = html.escape
    out = [f"<h2>{e(page.title)}</h2>", f"<p>{e(page.about)}</p>"]
    if page.formulas:
        out.append("<h3>The maths</h3>")
        for (tex, text), url, w in zip(page.formulas, formula_urls, widths):
            out.append(f'<p align="center"><img src="{url}" width="{w}"></p><p>{e(text)}</p>')
    if page.views:
        out.append("<h3>What each view shows</h3><ul>")
        out += [f"<li><b>{e(name)}</b>: {e(text)}</li>" for name, text in page.views]
        out.append("</ul>")
    if page.tries:
        out.append("<h3>What to try</h3><ul>")
        out += [f"<li>{e(t)}</li>" for t in page.tries]
        out.append("</ul>")
    out.append("<h3>Parameters</h3><table cellspacing='0' cellpadding='3' border='0'>")
    out += [f"<tr><td><b>{e(n)}</b></td><td><i>{e(r)}</i></td><td>{e(h)}</td></tr>" for n, r, h in page.params]
    out.append("</table>")
    if page.declared:
        out.append("<p><i>Keys: F1 this page · Space play/pause · → one step · R reset · F11 presenter · "
                   "PgDn / PgUp next / previous lesson step.</i></p>")
    return "\n".join(out)


class HelpDialog(QtWidgets.QDialog):
    """A non-modal window with one method's page; `show_method` changes the page."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("What am I looking at?")
        self.resize(760, 820)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.browser)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        lay.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        self.method: str | None = None
        self.formula_errors: list[str] = []

    def show_method(self, method: str, point_size: float = 15.0) -> None:
        """Fill the page of `method` (a page that cannot be read says why, in its place)."""
        self.method = method
        doc = self.browser.document()
        try:
            page = help_page(method)
        except ValueError as e:
            self.browser.setPlainText(str(e))
            return
        self.setWindowTitle(f"What am I looking at? — {page.title}")
        urls, widths, self.formula_errors = [], [], []
        for i, (tex, _) in enumerate(page.formulas):
            url = f"formula-{method}-{i}.png"
            img = _formula_image(tex, point_size, self.formula_errors)
            doc.addResource(QtGui.QTextDocument.ResourceType.ImageResource, QtCore.QUrl(url), img)
            urls.append(url)
            widths.append(max(1, img.width() // FORMULA_DPI_SCALE))
        self.browser.setHtml(page_html(page, urls, widths))


def _formula_image(tex: str, point_size: float, errors: list[str]) -> QtGui.QImage:
    from otviz.help.formulas import render_formula

    try:
        data = render_formula(tex, point_size * FORMULA_DPI_SCALE)
    except (ValueError, ImportError) as e:
        errors.append(str(e) if isinstance(e, ValueError) else "formulas need matplotlib, which is not installed")
        img = QtGui.QImage(400, 30, QtGui.QImage.Format.Format_RGB32)
        img.fill(QtGui.QColor("white"))
        return img
    img = QtGui.QImage()
    img.loadFromData(data, "PNG")
    return img
