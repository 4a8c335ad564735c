// Package toolscript tests scripts/tools.sh, which `make tools`, `make test`
// and `make dev` run: each target installs only the tools it uses, Python
// tools go into a virtual environment under .tools/ (never into the system
// interpreter, which PEP 668 systems refuse to change), a machine without
// Python's venv module is told which package to install, and a machine that
// has everything makes no network call. The script runs in a scratch copy
// of the repository with fake python3, pip, npm and go, so the tests need no
// network and change nothing outside their temporary directory.
package toolscript
