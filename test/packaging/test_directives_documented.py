"""Every directive in the module's command table is in the man page and the README's
directive table, and neither documents one the module does not have."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def module_directives():
    """The names in mod_magiclink.c's command table, with the entries that glue files
    contribute through their ML_..._CMDS macros."""
    src = (REPO / "mod_magiclink.c").read_text()
    table = src[src.index("command_rec"):]
    table = table[:re.search(r"\{\s*NULL\s*\}", table).start()]
    for macro in re.findall(r"\b(ML_[A-Z_]+_CMDS)\b", table):
        for h in (REPO / "src" / "httpd").glob("*.h"):
            m = re.search(rf"#define {macro}\b(.*?)(?<!\\)\n", h.read_text(), re.S)
            if m:
                table += m.group(1)
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
