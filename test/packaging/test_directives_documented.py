"""Every directive in the module's command table is in the man page and the README's
directive table, and neither documents one the module does not have."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def module_directives():
    """The names in the module's one command table, ml_cmds[] in src/httpd/ml_conf.c."""
    src = (REPO / "src" / "httpd" / "ml_conf.c").read_text()
    table = src[src.index("const command_rec ml_cmds[]"):]
    table = table[:re.search(r"\{\s*NULL\s*\}", table).start()]
    names = set(re.findall(r'"(MagicLink[A-Za-z]+)"', table))
    assert len(names) > 10, names
    return names


def test_man_page_documents_every_directive():
    man = (REPO / "man/magiclink.conf.5").read_text()
    documented = set(re.findall(r'^\.B[IR]? "?(MagicLink[A-Za-z]+)', man, re.M))
    assert documented == module_directives()


def test_readme_table_documents_every_directive():
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `(MagicLink[A-Za-z]+)", readme, re.M))
    assert documented == module_directives()
