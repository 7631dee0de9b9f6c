"""What a cell needs from earlier cells, found with the ``ast`` module (never regular expressions).

Three steps:

1. ``translate_cell``: IPython syntax (``%magic``, ``!shell``, ``%%cell`` magics) becomes Python with
   IPython's own ``TransformerManager`` (exactly what the kernel runs), and every remaining
   ``get_ipython()`` call is rewritten into a call of the job's runtime helper or refused (see
   ``docs/notebook-jobs.md`` for the table). Earlier cells are translated leniently: they are only
   mined for definitions, so a magic there is dropped instead of refused.
2. ``free_names``: the names a piece of code reads before binding them, in order, with Python's
   scoping rules: module-level code is read in order (``x = 1; print(x)`` needs no ``x``, ``x = x + 1``
   does); function bodies are read at call time (a name they read is needed unless this code binds it
   at module level somewhere); comprehensions have their own scope, except their first iterable;
   class bodies see module names but their methods do not see the class's; ``global``/``nonlocal``
   declarations are honoured.
3. ``definitions``: what each earlier cell defines at top level (imports, functions, classes,
   variables), with the exact source of each import alias and each ``def``/``class``.

``packaging.resolve`` combines these with the live kernel namespace.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import re
from collections.abc import Iterable

from ..errors import InvalidRequest

RUNTIME = "_azml_runtime"  # the name main.py imports the job's runtime helper as

# Line magics that only change the interactive session (display, reloading, introspection, installing
# into the kernel): dropped from a job, with a note. %pip/%conda: the job's packages come from
# environment/conda.yaml, which lists what the kernel has installed.
DROPPED_LINE_MAGICS = frozenset(
    {
        "matplotlib",
        "load_ext",
        "reload_ext",
        "unload_ext",
        "autoreload",
        "aimport",
        "config",
        "pip",
        "conda",
        "mamba",
        "micromamba",
        "who",
        "whos",
        "who_ls",
        "lsmagic",
        "pinfo",
        "pinfo2",
        "psearch",
        "pdef",
        "pdoc",
        "psource",
        "pfile",
        "history",
        "xmode",
        "colors",
        "precision",
        "pprint",
        "azml_jobs",
        "azml_logs",
        "autocall",
        "automagic",
        "doctest_mode",
        "page",
        "pdb",
        "magic",
        "quickref",
        "notebook",
        "tb",
    }
)
# Line magics with a job meaning, rewritten into calls of the runtime helper.
REWRITTEN_LINE_MAGICS = frozenset({"time", "env", "cd", "sx", "system", "set_env"})
DROPPED_CELL_MAGICS = frozenset({"html", "markdown", "latex", "javascript", "js", "svg"})
UNWRAPPED_CELL_MAGICS = frozenset({"time", "capture", "azml_submit"})  # the body runs as plain Python
SHELL_CELL_MAGICS = frozenset({"bash", "sh"})

# Module-level names every module has; a cell reading them needs nothing from the notebook.
MODULE_DUNDERS = frozenset({"__name__", "__doc__", "__file__", "__builtins__", "__spec__", "__loader__", "__package__"})
# Names the kernel provides through builtins while a cell runs; the job's runtime provides them too.
KERNEL_BUILTINS = frozenset({"display", "get_ipython"})
# Builtins every Python process has (the ``site`` module adds exit/quit/help/...): IPython replaces
# open/exit/quit in the user namespace and removes exit/quit from builtins while a cell runs, so the
# kernel's own ``builtins`` is not the list.
PYTHON_BUILTINS = frozenset(
    set(dir(builtins)) - KERNEL_BUILTINS - {"__IPYTHON__"} | {"exit", "quit", "help", "copyright", "credits", "license"}
)
# IPython's input/output history in the user namespace (In/Out, _ih/_oh/_dh, _, __, ___, _N, _i, _ii,
# _iii, _iN, _i00): a job has no history.
_HISTORY_NAME = re.compile(r"^(In|Out|_ih|_oh|_dh|_{1,3}|_\d+|_i{1,3}|_i\d+|_i00)$")


class CellAnalysisError(InvalidRequest):
    """A submitted cell uses something a job cannot run (a magic with no meaning remotely, a star import,
    a name defined nowhere). ``details`` has ``cell`` (its label) and ``line`` when known."""

    code = "cell_not_submittable"


@dataclasses.dataclass
class TranslatedCell:
    label: str  # how messages name the cell: "In [5]", "cell 3"
    source: str  # as the user wrote it
    python: str  # plain Python the job runs
    tree: ast.Module
    notes: list[str]


# ---- step 1: IPython syntax -> Python --------------------------------------------------------------
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def translate_cell(source: str, label: str, *, strict: bool = True) -> TranslatedCell:
    """Turn a cell's IPython source into plain Python for a job.

    ``strict``: refuse magics that make no sense remotely (for the cells being submitted); otherwise
    drop them silently (earlier cells, read only for their definitions). A syntax error raises
    CellAnalysisError with the line in either mode; callers decide whether an earlier cell's error matters.
    Lines keep their numbers (a cell magic's body keeps its own), so a job's traceback points at the
    cell's own line.
    """
    notes: list[str] = []
    python = _translate(source, label, strict, notes, line_offset=0)
    tree = _parse(python, label, 0)
    return TranslatedCell(label=label, source=source, python=python, tree=tree, notes=notes)


def _parse(python: str, label: str, line_offset: int) -> ast.Module:
    try:
        return ast.parse(python, filename=label)
    except SyntaxError as exc:
        line = (exc.lineno or 0) + line_offset
        raise CellAnalysisError(
            f"{label} is not valid Python (line {line}): {exc.msg}.", details={"cell": label, "line": line}
        ) from None


def _translate(source: str, label: str, strict: bool, notes: list[str], line_offset: int) -> str:
    python = _transformer().transform_cell(source)
    tree = _parse(python, label, line_offset)
    rewriter = _MagicRewriter(label, strict, notes, line_offset)
    rewriter.visit(tree)
    return _apply_edits(python, rewriter.edits)


def _apply_edits(text: str, edits: list[tuple[int, int, int, int, str]]) -> str:
    """Replace (line, col, end_line, end_col) spans (ast positions: 1-based lines, UTF-8 byte columns)."""
    lines = [line.encode() for line in text.splitlines(keepends=True)]
    for line, col, end_line, end_col, replacement in sorted(edits, reverse=True):
        head = lines[line - 1][:col]
        tail = lines[end_line - 1][end_col:]
        lines[line - 1 : end_line] = [head + replacement.encode() + tail]
    return b"".join(lines).decode()


def _ipython_call(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``get_ipython().method(args...)`` -> (method, args)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "get_ipython"
    ):
        return node.func.attr, list(node.args)
    return None


def _constant_strings(args: list[ast.expr]) -> list[str] | None:
    if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return [a.value for a in args]  # type: ignore[union-attr]
    return None


def _runtime_call(function: str, *args: str, scope: bool = False) -> str:
    # shell commands expand {expr} and $name against the caller's variables, as IPython does
    extra = ", globals(), locals()" if scope else ""
    return f"{RUNTIME}.{function}({', '.join(repr(a) for a in args)}{extra})"


class _MagicRewriter(ast.NodeVisitor):
    """Collects text edits that turn the remaining ``get_ipython()`` calls into job code."""

    def __init__(self, label: str, strict: bool, notes: list[str], line_offset: int):
        self.label = label
        self.strict = strict
        self.notes = notes
        self.line_offset = line_offset  # lines before this code in the cell (a cell magic's body)
        self.edits: list[tuple[int, int, int, int, str]] = []

    def _replace(self, node: ast.AST, text: str) -> None:
        self.edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text))  # type: ignore[attr-defined]

    def _refuse(self, node: ast.AST, message: str) -> None:
        if self.strict:
            line = getattr(node, "lineno", 0) + self.line_offset
            raise CellAnalysisError(f"{self.label}, line {line}: {message}", details={"cell": self.label, "line": line})

    def _note(self, text: str) -> None:
        if self.strict:
            self.notes.append(f"{self.label}: {text}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if any(alias.name == "*" for alias in node.names):
            self._refuse(
                node,
                f"`from {node.module} import *` cannot be analysed (which names does it bring?); "
                "import the names the cell uses, e.g. `from module import a, b`.",
            )

    def visit_Expr(self, node: ast.Expr) -> None:
        call = _ipython_call(node.value)
        strings = _constant_strings(call[1]) if call else None
        if call is None or not strings:
            self.generic_visit(node)
            return
        method = call[0]
        if method == "run_line_magic":
            name, line = strings[0], strings[1] if len(strings) > 1 else ""
            if name == "time":
                self._replace(node, self._inner(line, node, "%time", node.lineno - 1))
                return
            if name in DROPPED_LINE_MAGICS:
                self._note(f"%{name} dropped (it only affects the interactive kernel).")
                self._replace(node, f"pass  # %{name} {line}".rstrip())
                return
        if method == "run_cell_magic" and len(strings) == 3:
            name, line, body = strings
            header = f"pass  # %%{name} {line}".rstrip() + "\n"
            if name in UNWRAPPED_CELL_MAGICS:
                self._replace(node, header + self._inner(body, node, f"%%{name}", node.lineno, indent=False))
                return
            if name in DROPPED_CELL_MAGICS:
                self._note(f"%%{name} dropped (display only).")
                self._replace(node, header.rstrip())
                return
            if name in SHELL_CELL_MAGICS or (name == "script" and line.strip() in ("bash", "sh")):
                self._replace(node, _runtime_call("shell", body))
                return
            if name == "writefile":
                self._replace(node, _runtime_call("writefile", line, body))
                return
            self._refuse(node, f"%%{name} has no meaning in an unattended job; remove it or rewrite the cell.")
            self._replace(node, header.rstrip())
            return
        self.visit_Call(node.value)

    def _inner(self, code: str, node: ast.AST, what: str, offset: int, indent: bool = True) -> str:
        # the magic's code is itself IPython source (a %%time cell may hold !commands)
        text = _translate(code, self.label, self.strict, self.notes, self.line_offset + offset).rstrip("\n")
        if indent:
            pad = " " * getattr(node, "col_offset", 0)
            text = text.replace("\n", "\n" + pad)
        return text or "pass"

    def visit_Call(self, node: ast.Call) -> None:
        call = _ipython_call(node)
        if call is None:
            if isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
                self._refuse(node, "the cell calls get_ipython(), which does not exist in a job.")
            self.generic_visit(node)
            return
        method, args = call
        strings = _constant_strings(args) or []
        if method in ("system", "getoutput") and strings:
            self._replace(node, _runtime_call(method, strings[0], scope=True))
            return
        if method == "run_line_magic" and strings:
            name, line = strings[0], strings[1] if len(strings) > 1 else ""
            if name in ("sx", "system"):
                self._replace(node, _runtime_call("getoutput", line, scope=True))
            elif name in ("env", "set_env"):
                self._replace(node, _runtime_call("env", line))
            elif name == "cd":
                self._replace(node, _runtime_call("cd", line))
            elif name in DROPPED_LINE_MAGICS:
                self._note(f"%{name} dropped (it only affects the interactive kernel).")
                self._replace(node, "None")
            elif name == "timeit":
                self._refuse(node, "%timeit runs a statement many times to time it; remove it from a submitted cell.")
                self._replace(node, "None")
            elif name == "time":
                self._refuse(node, "use %time only as a statement of its own in a submitted cell.")
                self._replace(node, "None")
            else:
                self._refuse(node, f"%{name} has no meaning in an unattended job; remove it or rewrite the line.")
                self._replace(node, "None")
            return
        self._refuse(node, f"get_ipython().{method}(...) is not available in a job.")
        self._replace(node, "None")


# ---- step 2: free names -----------------------------------------------------------------------------
@dataclasses.dataclass
class FreeNames:
    needed: list[str]  # read before being bound (module level) or read by deferred code; first-read order
    lines: dict[str, int]  # name -> line of its first such read
    optional: set[str]  # needed names read only by shell expansions (`!ls $path`): used if they exist
    bound: set[str]  # names the code binds at module level (anywhere, also from `global` in functions)
    maybe_bound: set[str]  # bound only on some paths (inside if/for/while/try/match)


def free_names(tree: ast.Module | list[ast.stmt]) -> FreeNames:
    body = tree.body if isinstance(tree, ast.Module) else list(tree)
    analyser = _FreeNameAnalyser(_module_bindings(body))
    defined: set[str] = set()
    analyser.block(body, defined)
    needed = [n for n in analyser.order if n not in MODULE_DUNDERS and n != RUNTIME]
    return FreeNames(
        needed=needed,
        lines={n: analyser.lines[n] for n in needed},
        optional={n for n in needed if n in analyser.optional},
        bound=analyser.module_bound,
        maybe_bound=analyser.module_bound - defined,
    )


def deferred_free_names(node: ast.stmt) -> FreeNames:
    """Free names of a ``def``/``class`` statement shipped on its own: its decorators, defaults, bases
    and class body are read when it is defined, its function bodies when they are called."""
    return free_names([node])


def _target_names(target: ast.AST) -> Iterable[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def _pattern_names(pattern: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(pattern):
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    out = []
    for alias in node.names:
        if alias.name == "*":
            continue
        out.append(alias.asname or alias.name.split(".")[0])
    return out


def _scope_bindings(body: list[ast.stmt], args: ast.arguments | None = None) -> tuple[set[str], set[str], set[str]]:
    """(bound, declared global, declared nonlocal) of one function or module scope, not descending into
    nested scopes (but counting walrus targets in comprehensions, which bind here)."""
    bound: set[str] = set()
    globals_: set[str] = set()
    nonlocals: set[str] = set()
    if args is not None:
        for a in args.posonlyargs + args.args + args.kwonlyargs:
            bound.add(a.arg)
        for a in (args.vararg, args.kwarg):
            if a is not None:
                bound.add(a.arg)

    def visit(node: ast.AST, in_comprehension: bool = False) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            for deco in node.decorator_list:
                visit(deco)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for child in ast.iter_child_nodes(node):
                visit(child, True)
            return
        if isinstance(node, ast.Global):
            globals_.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            nonlocals.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if not in_comprehension:
                bound.add(node.id)
        elif isinstance(node, ast.NamedExpr):
            bound.update(_target_names(node.target))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(_import_names(node))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.match_case):
            bound.update(_pattern_names(node.pattern))
        elif isinstance(node, ast.comprehension) and in_comprehension:
            pass
        for child in ast.iter_child_nodes(node):
            visit(child, in_comprehension)

    for stmt in body:
        visit(stmt)
    return bound - globals_ - nonlocals, globals_, nonlocals


def _module_bindings(body: list[ast.stmt]) -> set[str]:
    """Every name this code binds at module level, including through ``global`` in its functions."""
    bound, _, _ = _scope_bindings(body)
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _, declared, _ = _scope_bindings(node.body, node.args)
            assigned = {
                n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))
            }
            bound |= declared & assigned
    return bound


class _FreeNameAnalyser:
    def __init__(self, module_bound: set[str]):
        self.module_bound = module_bound
        self.order: list[str] = []
        self.lines: dict[str, int] = {}
        self.optional: set[str] = set()
        self.required: set[str] = set()

    def need(self, name: str, node: ast.AST, *, optional: bool = False) -> None:
        if name not in self.lines:
            self.order.append(name)
            self.lines[name] = getattr(node, "lineno", 0)
        if optional and name not in self.required:
            self.optional.add(name)
        elif not optional:
            self.required.add(name)
            self.optional.discard(name)

    # -- module (and class body) statements, in order --------------------------------------------------
    def block(self, stmts: list[ast.stmt], defined: set[str]) -> None:
        for stmt in stmts:
            self.stmt(stmt, defined)

    def stmt(self, node: ast.stmt, defined: set[str]) -> None:
        expr = lambda e: self.expr(e, defined)  # noqa: E731
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for e in node.decorator_list:
                expr(e)
            self._arguments_eager(node.args, defined)
            if node.returns is not None:
                expr(node.returns)
            self.function(node.args, node.body, [])
            defined.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for e in node.decorator_list + node.bases + [k.value for k in node.keywords]:
                expr(e)
            self.class_body(node.body, defined, [])
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            expr(node.value)
            for target in node.targets:
                self.store(target, defined)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                if node.target.id not in defined:
                    self.need(node.target.id, node)
            expr(node.value)
            self.store(node.target, defined)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                expr(node.value)
                self.store(node.target, defined)
            elif not isinstance(node.target, ast.Name):
                self.store(node.target, defined)
            expr(node.annotation)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update(_import_names(node))
        elif isinstance(node, ast.If):
            expr(node.test)
            self._branches([node.body, node.orelse], defined)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            expr(node.iter)
            inner = set(defined)
            self.store(node.target, inner)
            self.block(node.body, inner)
            self.block(node.orelse, set(defined))
        elif isinstance(node, ast.While):
            expr(node.test)
            self.block(node.body, set(defined))
            self.block(node.orelse, set(defined))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                expr(item.context_expr)
                if item.optional_vars is not None:
                    self.store(item.optional_vars, defined)
            self.block(node.body, defined)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            main = set(defined)
            self.block(node.body, main)
            self.block(node.orelse, main)
            outcomes = [main]
            for handler in node.handlers:
                branch = set(defined)
                if handler.type is not None:
                    self.expr(handler.type, branch)
                if handler.name:
                    branch.add(handler.name)
                self.block(handler.body, branch)
                outcomes.append(branch)
            defined |= set.intersection(*outcomes)
            self.block(node.finalbody, defined)
        elif isinstance(node, ast.Match):
            expr(node.subject)
            for case in node.cases:
                branch = set(defined) | _pattern_names(case.pattern)
                for sub in ast.walk(case.pattern):  # value patterns read names: case Color.RED
                    if isinstance(sub, ast.MatchValue):
                        self.expr(sub.value, branch)
                if case.guard is not None:
                    self.expr(case.guard, branch)
                self.block(case.body, branch)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if target.id not in defined:
                        self.need(target.id, node)
                    defined.discard(target.id)
                else:
                    expr(target)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            pass
        else:  # Expr, Return, Raise, Assert, Pass, Break, Continue, TypeAlias ...
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    expr(child)

    def _branches(self, bodies: list[list[ast.stmt]], defined: set[str]) -> None:
        results = []
        for body in bodies:
            branch = set(defined)
            self.block(body, branch)
            results.append(branch)
        defined |= set.intersection(*results)

    def store(self, target: ast.AST, defined: set[str]) -> None:
        if isinstance(target, ast.Name):
            defined.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.store(element, defined)
        elif isinstance(target, ast.Starred):
            self.store(target.value, defined)
        else:  # df["x"] = ..., obj.attr = ...: reads df / obj
            self.expr(target, defined)

    def _arguments_eager(self, args: ast.arguments, defined: set[str]) -> None:
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.expr(default, defined)
        for a in args.posonlyargs + args.args + args.kwonlyargs + [x for x in (args.vararg, args.kwarg) if x]:
            if a.annotation is not None:
                self.expr(a.annotation, defined)

    # -- expressions evaluated now ----------------------------------------------------------------------
    def expr(self, node: ast.AST, defined: set[str], local: frozenset[str] = frozenset()) -> None:
        """Reads in an expression evaluated at module (or class-body) level. ``local``: names bound by
        enclosing comprehensions."""
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in defined and node.id not in local:
                self.need(node.id, node)
            return
        if _is_runtime_call(node):  # its arguments are constants and globals()/locals()
            for name in _shell_expansion_names(node):
                if name not in defined and name not in local:
                    self.need(name, node, optional=True)
            return
        if isinstance(node, ast.NamedExpr):
            self.expr(node.value, defined, local)
            defined.update(_target_names(node.target))
            return
        if isinstance(node, ast.Lambda):
            self._arguments_eager(node.args, defined)
            self.function(node.args, [ast.Return(node.body)], [])
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.comprehension(node, lambda e, inner: self.expr(e, defined, inner), local)
            return
        for child in ast.iter_child_nodes(node):
            self.expr(child, defined, local)

    def comprehension(self, node: ast.AST, read, local: frozenset[str]) -> None:
        inner = set(local)
        for i, generator in enumerate(node.generators):  # type: ignore[attr-defined]
            # the first iterable is evaluated in the enclosing scope, before the comprehension's names
            read(generator.iter, frozenset(local) if i == 0 else frozenset(inner))
            inner |= set(_target_names(generator.target))
            for condition in generator.ifs:
                read(condition, frozenset(inner))
        if isinstance(node, ast.DictComp):
            read(node.key, frozenset(inner))
            read(node.value, frozenset(inner))
        else:
            read(node.elt, frozenset(inner))  # type: ignore[attr-defined]

    # -- class bodies: run now, in order, in their own namespace ----------------------------------------
    def class_body(self, body: list[ast.stmt], module_defined: set[str], enclosing: list[set[str]]) -> None:
        if enclosing:  # a class inside a function: its body reads behave like the function's
            self.function(None, body, enclosing, class_scope=True)
            return
        class_defined = set(module_defined)  # module names stay visible; class names join them
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for e in stmt.decorator_list:
                    self.expr(e, class_defined)
                self._arguments_eager(stmt.args, class_defined)
                self.function(stmt.args, stmt.body, [])  # methods skip the class scope
                class_defined.add(stmt.name)
            else:
                self.stmt(stmt, class_defined)

    # -- function bodies: read when called ----------------------------------------------------------------
    def function(
        self,
        args: ast.arguments | None,
        body: list[ast.stmt],
        enclosing: list[set[str]],
        *,
        class_scope: bool = False,
    ) -> None:
        bound, declared_global, _ = _scope_bindings(body, args)
        scopes = enclosing + [bound]

        def read(name: str, node: ast.AST, local: frozenset[str], optional: bool = False) -> None:
            if name in local:
                return
            if name in declared_global:  # `global x; x += 1` reads the notebook's x, whoever binds it
                self.need(name, node, optional=optional)
                return
            if any(name in scope for scope in scopes):
                return
            if name not in self.module_bound:  # a module-level name of this code, bound before the call
                self.need(name, node, optional=optional)

        def visit(node: ast.AST, local: frozenset[str]) -> None:
            if _is_runtime_call(node):
                for name in _shell_expansion_names(node):
                    read(name, node, local, optional=True)
                return
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    read(node.id, node, local)
                return
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                read(node.target.id, node, local)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for e in node.decorator_list:
                    visit(e, local)
                for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                    visit(d, local)
                self.function(node.args, node.body, scopes if not class_scope else enclosing)
                return
            if isinstance(node, ast.ClassDef):
                for e in node.decorator_list + node.bases + [k.value for k in node.keywords]:
                    visit(e, local)
                self.function(None, node.body, scopes, class_scope=True)
                return
            if isinstance(node, ast.Lambda):
                for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                    visit(d, local)
                self.function(node.args, [ast.Return(node.body)], scopes)
                return
            if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                self.comprehension(node, lambda e, inner: visit(e, inner), local)
                return
            for child in ast.iter_child_nodes(node):
                visit(child, local)

        for stmt in body:
            visit(stmt, frozenset())


def _is_runtime_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == RUNTIME
    )


def _shell_expansion_names(node: ast.AST) -> list[str]:
    """Names a rewritten shell command expands (``!ls {path}``, ``!echo $name``), as IPython would."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == RUNTIME
        and node.func.attr in ("system", "getoutput")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return []
    return shell_command_names(node.args[0].value)


def shell_command_names(command: str) -> list[str]:
    names: list[str] = []
    for match in re.finditer(r"(?<![{$]){([^{}]+)}(?!})|(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", command):
        if match.group(2):
            names.append(match.group(2))
            continue
        try:
            expression = ast.parse(match.group(1).strip(), mode="eval")
        except SyntaxError:
            continue
        names.extend(n.id for n in ast.walk(expression) if isinstance(n, ast.Name))
    return names


# ---- step 3: what earlier cells define ----------------------------------------------------------------
@dataclasses.dataclass
class Definition:
    name: str
    kind: str  # "import" | "function" | "class" | "variable"
    cell: int  # index of the cell in the list analysed
    label: str
    line: int
    source: str | None = None  # imports: one statement binding just this name; def/class: its code
    node: ast.stmt | None = None


def definitions(cell: TranslatedCell, index: int) -> dict[str, Definition]:
    """Top-level definitions of a cell (looking inside top-level if/try/with blocks too); the last
    definition of a name wins, as it would when the cell runs."""
    found: dict[str, Definition] = {}

    def add(name: str, kind: str, node: ast.stmt, source: str | None = None) -> None:
        found[name] = Definition(name, kind, index, cell.label, node.lineno, source, node)

    def walk(stmts: list[ast.stmt]) -> None:
        for node in stmts:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    text = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                    add(bound, "import", node, text)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    module = "." * node.level + (node.module or "")
                    text = f"from {module} import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
                    add(alias.asname or alias.name, "import", node, text)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                add(node.name, "function", node, statement_source(cell.python, node))
            elif isinstance(node, ast.ClassDef):
                add(node.name, "class", node, statement_source(cell.python, node))
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While, getattr(ast, "TryStar", ast.Try))):
                for block in ("body", "orelse", "finalbody"):
                    walk(getattr(node, block, []) or [])
                for handler in getattr(node, "handlers", []) or []:
                    walk(handler.body)
                for name in _direct_bindings(node):
                    if name not in found:
                        add(name, "variable", node)
            else:
                for name in _direct_bindings(node):
                    add(name, "variable", node)

    walk(cell.tree.body)
    return found


def _direct_bindings(node: ast.stmt) -> set[str]:
    names: set[str] = set()
    if isinstance(node, ast.Assign):
        for target in node.targets:
            names.update(_target_names(target))
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        names.update(_target_names(node.target))
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        names.update(_target_names(node.target))
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                names.update(_target_names(item.optional_vars))
    for sub in ast.walk(node):
        if isinstance(sub, ast.NamedExpr):
            names.update(_target_names(sub.target))
    return names


def statement_start(node: ast.stmt) -> int:
    """The first line of a statement, its decorators included."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def statement_source(python: str, node: ast.stmt) -> str:
    """The exact text of a statement (with its decorators) in the translated cell."""
    start = statement_start(node)
    lines = python.splitlines()
    text = "\n".join(lines[start - 1 : node.end_lineno])
    return text if text.strip() else ast.unparse(node)


def is_builtin(name: str) -> bool:
    return hasattr(builtins, name) or name in KERNEL_BUILTINS


def history_kind(name: str) -> str | None:
    """"input" / "output" / "directory" for IPython's history names, None for other names."""
    if not _HISTORY_NAME.match(name):
        return None
    if name == "_dh":
        return "directory"
    return "input" if name == "In" or name.startswith("_i") else "output"
