"""Loading a spec file: `path/to/spec.py` or `path/to/spec.py::ClassName` -> a Spec class.

Every way a file can fail to load becomes a `SpecError` naming the file and line, never a traceback.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from ..errors import SpecError, UsageError
from .model import user_frame
from .spec import Spec


def split_target(target: str) -> tuple[Path, str | None]:
    """Splits `file.py::Class` into the path and the class name."""
    if "::" in target:
        path, name = target.rsplit("::", 1)
        return Path(path), name or None
    return Path(target), None


def load_module(path: Path):
    """Imports a Python file under a unique module name and returns the module."""
    if not path.exists():
        raise UsageError(f"{path}: no such file", hint="give the path of a spec file, e.g. specs/twopc.py")
    if path.is_dir():
        raise UsageError(f"{path} is a folder", hint="give one spec file (explore check takes folders)")
    if path.suffix != ".py":
        raise UsageError(f"{path}: a spec is a Python file ending in .py")
    resolved = path.resolve()
    mod_name = "explorer_spec_" + path.stem + "_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read it ({e})") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as e:
        line = (e.text or "").rstrip("\n")
        raise SpecError(f"syntax error: {e.msg}" + (f"\n    {line.strip()}" if line else ""),
                        where=f"{path}:{e.lineno}") from None
    spec = importlib.util.spec_from_loader(mod_name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[mod_name] = module
    parent = str(resolved.parent)
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)
    try:
        exec(code, module.__dict__)
    except SpecError as e:
        del sys.modules[mod_name]
        if e.where is None:  # e.g. @on(NotAMessage) in a class body: point at that line
            e.where = user_frame(e, {str(path)}) or str(path)
        raise
    except Exception as e:  # noqa: BLE001 - the spec file's own code failed
        del sys.modules[mod_name]
        raise SpecError(f"loading the spec raised {type(e).__name__}: {e}",
                        where=user_frame(e, {str(path)}) or str(path)) from None
    finally:
        if added:
            sys.path.remove(parent)
    return module


def spec_classes(module) -> list[type[Spec]]:
    """Returns the Spec subclasses defined in a module (not the ones it imports)."""
    out = []
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Spec) and value.__module__ == module.__name__:
            if not getattr(value, "abstract", False) and value.__dict__.get("abstract") is not True:
                out.append(value)
    return out


def load_spec(target: str | Path) -> type[Spec]:
    """Returns the one spec class of a file (or the class named after `::`)."""
    path, name = split_target(str(target))
    module = load_module(path)
    classes = spec_classes(module)
    if name is not None:
        for c in classes:
            if c.__name__ == name:
                return c
        raise UsageError(f"{path} has no spec class {name!r}",
                         hint="spec classes there: " + (", ".join(c.__name__ for c in classes) or "none"))
    if not classes:
        raise SpecError(f"{path} defines no spec class",
                        hint="define a class that subclasses explorer.Spec or explorer.Protocol")
    if len(classes) > 1:
        names = ", ".join(c.__name__ for c in classes)
        raise SpecError(f"{path} defines {len(classes)} spec classes ({names})",
                        hint=f"pick one: {path}::{classes[0].__name__}, or set abstract = True on helpers")
    return classes[0]
