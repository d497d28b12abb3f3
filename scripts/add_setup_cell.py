"""Put the "On Colab, run this first" cells at the top of every lesson in solutions/.

    python scripts/add_setup_cell.py && dropout-kit release

Inserts, after each lesson's title cell, a markdown line (id ``setup-note``) and the first code
cell (id ``setup``): it installs dropout_kit where it is missing (Colab; ``DROPOUT_KIT_PIP_SPEC``
replaces the pip spec, e.g. with a local wheel), and in lessons that load FashionMNIST it says
where the data was found. Other cells, their ids and nbgrader metadata are left as they are.
Running it again rewrites the two cells in place, so a lesson added later gets them too.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIP_SPEC = "dropout-kit @ git+https://github.com/dropout-course/dropout-course"

INSTALL = f"""\
try:
    import dropout_kit
except ModuleNotFoundError:  # on Colab: install it from the course's repository
    import os

    spec = os.environ.get("DROPOUT_KIT_PIP_SPEC", "{PIP_SPEC}")
    %pip install -q "{{spec}}"
"""
DATA = """
from dropout_kit import data

_, where = data.find()  # on Colab, torchvision downloads FashionMNIST here the first time
print("FashionMNIST:", where)
"""
NOTE = "**On Colab, run this first.** It installs the course's package, `dropout_kit`, where it is missing{data}; elsewhere it {rest}."


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def setup_cells(uses_data: bool) -> list[dict]:
    """The markdown line and the code cell, for a lesson that does or does not load FashionMNIST."""
    note = NOTE.format(data=", and says where the FashionMNIST images are" if uses_data else "",
                       rest="only says where the images are" if uses_data else "does nothing")
    source = (INSTALL + DATA) if uses_data else INSTALL
    return [
        {"cell_type": "markdown", "id": "setup-note", "metadata": {}, "source": _lines(note)},
        {"cell_type": "code", "execution_count": None, "id": "setup", "metadata": {}, "outputs": [],
         "source": _lines(source.rstrip("\n"))},
    ]


def add_setup_cells(path: Path) -> None:
    """Insert (or refresh) the setup cells after the title cell of the lesson at ``path``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c.get("id") not in {"setup-note", "setup"}]
    uses_data = any("load_fashion_mnist" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    title = 1 if cells and cells[0]["cell_type"] == "markdown" else 0
    nb["cells"] = cells[:title] + setup_cells(uses_data) + cells[title:]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    for lesson in sorted((REPO / "solutions").glob("*/*.ipynb")):
        if lesson.stem == lesson.parent.name:
            add_setup_cells(lesson)
            print(f"setup cells in {lesson.relative_to(REPO)}")
