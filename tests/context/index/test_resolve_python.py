"""Python resolution: absolute and relative imports, packages, submodules, src/ layouts."""

from __future__ import annotations

from pathlib import Path

from tree_files import make

from lsp_server.context.index.project import ProjectIndex


def imports(idx: ProjectIndex, path: str) -> list[tuple[str, tuple[str, ...], str | None]]:
    return [(i.text, i.names, i.target) for i in idx.imports_of(path)]


def test_src_layout_relative_and_absolute(tmp_path: Path) -> None:
    root = make(tmp_path / "proj", {
        "pyproject.toml": "[project]\nname = 'shop'\n",
        "src/shop/__init__.py": "from .core import Cart\nfrom . import util\n",
        "src/shop/core.py": "import shop.util as u\nfrom shop.util import helper, missing\nimport os.path\n",
        "src/shop/util.py": "def helper():\n    pass\n",
        "src/shop/sub/__init__.py": "",
        "src/shop/sub/deep.py": "from ..core import Cart\nfrom ...outside import nothing\nfrom .. import util, core\n",
        "tests/test_core.py": "from shop.core import Cart\nimport helpers\n",
        "tests/helpers.py": "X = 1\n",
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        assert idx.module_prefix("src/shop/sub/deep.py") == "shop.sub.deep"
        assert idx.module_prefix("src/shop/__init__.py") == "shop"
        assert idx.module_prefix("tests/test_core.py") == "test_core"
        assert imports(idx, "src/shop/__init__.py") == [
            (".core", ("Cart",), "src/shop/core.py"),
            (".", ("util",), "src/shop/util.py"),  # a submodule named in a from-import
        ]
        assert imports(idx, "src/shop/core.py") == [
            ("shop.util", ("u",), "src/shop/util.py"),
            ("shop.util", ("helper", "missing"), "src/shop/util.py"),
            ("os.path", ("os",), None),
        ]
        deep = imports(idx, "src/shop/sub/deep.py")
        assert deep[0] == ("..core", ("Cart",), "src/shop/core.py")
        assert deep[1] == ("...outside", ("nothing",), None)
        assert {(n, t) for _x, n, t in deep[2:]} == {(("util",), "src/shop/util.py"), (("core",), "src/shop/core.py")}
        assert imports(idx, "tests/test_core.py") == [
            ("shop.core", ("Cart",), "src/shop/core.py"),
            ("helpers", ("helpers",), "tests/helpers.py"),
        ]
        helper = idx.definitions_named("helper")
        assert [d.qualname for d in helper] == ["shop.util.helper"]
        edges = idx.file_edges()
        assert edges["src/shop/sub/deep.py"] == {"src/shop/core.py", "src/shop/util.py"}


def test_example_package(python_example: Path, tmp_path: Path) -> None:
    with ProjectIndex.open(python_example, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        assert idx.file_edges() == {
            "inventory/__init__.py": {"inventory/models.py", "inventory/pricing.py"},
            "inventory/models.py": set(),
            "inventory/pricing.py": {"inventory/models.py"},
        }
        pricing = idx.file("inventory/pricing.py")
        assert pricing is not None
        assert [(i.kind, i.text, i.target) for i in pricing.imports] == [("from", ".models", "inventory/models.py")]


def test_nearest_module_wins_on_name_clash(tmp_path: Path) -> None:
    root = make(tmp_path / "p", {
        "a/conftest.py": "A = 1\n",
        "a/test_a.py": "import conftest\n",
        "b/conftest.py": "B = 1\n",
        "b/test_b.py": "import conftest\n",
    })
    with ProjectIndex.open(root, state_dir=tmp_path / "s") as idx:
        idx.refresh()
        assert imports(idx, "a/test_a.py")[0][2] == "a/conftest.py"
        assert imports(idx, "b/test_b.py")[0][2] == "b/conftest.py"
