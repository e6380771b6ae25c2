"""Identity snapshots of builtins, pytest/pluggy/unittest internals and the library modules tests check
with; any change a job makes, or another module put in ``sys.modules`` in their place, is reported.

Only a narrowing check inside the job (see the README's exec section): what decides a verdict lives in
the parent.
"""

import operator
import sys



def _at():
    pass  # (a plain function: its type and its bound method's type are what _code_of reads through)


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE

# Library modules tests check with or compute their expected values from (``math.isclose``,
# ``np.allclose``, ``np.testing.assert_*``, mocks' ``assert_called_with``, ``collections.Counter``).
# Those the worker has loaded are watched like builtins: a job that rebinds one of their functions or
# classes, or puts another module in their place, is tampering.  (A module a job imports itself is new
# to the job; its solution runs first and could patch it unseen: list it in ``preimport`` to watch it.)
LIBRARY_MODULES = ("math", "cmath", "operator", "statistics", "fractions", "decimal", "functools",
                   "itertools", "collections", "heapq", "bisect", "re", "string", "copy", "random", "json",
                   "unittest.mock", "mock", "numpy", "numpy.testing", "numpy.linalg", "numpy.random",
                   "pandas", "pandas.testing", "scipy", "sympy")

_LIBRARY_ROOTS = frozenset(m.split(".")[0] for m in LIBRARY_MODULES)

def _code_of(v, _type=type, _Function=type(_at), _wrappers=(type(_at.__get__(0)), classmethod, staticmethod)):
    """The code of a function, method, classmethod or staticmethod (read through their types: an object
    whose ``__getattr__`` answers every name, such as ``mock.call``, has none)."""
    t = _type(v)
    if t in _wrappers:
        v = v.__func__
        t = _type(v)
    return v.__code__ if t is _Function else None

def _module_name(v, _ModuleType=type(sys), _issubclass=issubclass, _type=type, _get=object.__getattribute__):
    """``v.__name__`` if ``v`` is a module (read from its own dict: a subclass cannot answer for it)."""
    if not _issubclass(_type(v), _ModuleType):
        return None
    name = _get(v, "__dict__").get("__name__")
    return name if _type(name) is str else None

class Snapshot(object):
    """Identity of everything the verdict depends on, taken before untrusted code runs."""

    MODULES = ("builtins", "_pytest.runner", "_pytest.reports", "_pytest.python", "_pytest.main",
               "_pytest.fixtures", "_pytest.outcomes", "_pytest.unittest", "_pytest.skipping",
               "_pytest.capture", "_pytest.config", "pluggy", "pluggy._hooks", "pluggy._callers",
               "pluggy._manager", "unittest", "unittest.case", "unittest.result")

    def __init__(self, modules=None):
        self.modules = tuple(modules or self.MODULES)
        self.present = tuple(name for name in self.modules if name in sys.modules)
        # the module objects themselves: a job that puts another object in ``sys.modules`` in their place
        # hands every later ``import`` its own functions
        self.loaded = tuple((name, sys.modules[name]) for name in self.present)
        self.items = []
        for name in self.modules:
            mod = sys.modules.get(name)
            if mod is None:
                continue
            self._add(name, mod.__dict__)
            for key, val in list(mod.__dict__.items()):
                # Classes written in C (int, list, ...) cannot be changed from Python at all ("cannot set
                # attribute of immutable type"): only heap types can, and only they are watched.
                if isinstance(val, type) and getattr(val, "__module__", None) == name and val.__flags__ & _HEAPTYPE:
                    self._add(name + "." + key, val.__dict__)
        self._group()

    def _group(self):
        """Index for ``only``: what belongs to each package of ``LIBRARY_MODULES``, and everything else
        (made once in the worker, so that a job touches only the parts it checks: reading an object in a
        forked job writes its reference count, and copies its page)."""
        libraries, base, groups = frozenset(LIBRARY_MODULES), ([], []), {}

        def part(name):
            return groups.setdefault(name.split(".")[0], ([], [])) if name in libraries else base

        for name, mod in self.loaded:
            part(name)[1].append((name, mod))
        for it in self.items:
            part(it[0] if it[0] in self.present else it[0].rsplit(".", 1)[0])[0].append(it)
        self.groups = {k: (tuple(v[0]), tuple(v[1])) for k, v in groups.items()}
        self.base = (tuple(base[0]), tuple(base[1]))
        self.by_name = dict(self.loaded)
        self.cuts = {}  # (``only`` looks here first)
        self.cuts = {frozenset(r): self.only(r) for r in [()] + [(k,) for k in self.groups]}

    def _derived(self, modules, loaded, items):
        """A snapshot made of parts of this one (``rebased``, ``only``); it is not cut down further."""
        new = Snapshot.__new__(Snapshot)
        new.modules, new.loaded, new.items = modules, loaded, items
        new.present = tuple(name for name, _ in loaded)
        new.groups, new.by_name = {}, dict(loaded)
        return new

    def _add(self, label, ns, known=None):
        """``known``: value id -> (value, code) already read; a code is read only for other values."""
        keys, vals, coded = [], [], []
        for k, v in list(ns.items()):
            # Behaviour lives in functions and classes; plain data and properties are session state.
            if k in ("_", "__import__") or isinstance(v, property) \
                    or not (callable(v) or isinstance(v, (classmethod, staticmethod))):
                continue
            keys.append(k)
            vals.append(v)
            seen = known.get(id(v)) if known else None
            if seen is not None and seen[0] is v:
                code = seen[1]
            else:
                code = _code_of(v)
            if code is not None:
                coded.append((k, v, code))
        self.items.append((label, ns, tuple(keys), tuple(vals), tuple(coded), frozenset(ns)))

    def functions(self):
        """id -> name of every function whose code this snapshot compares (for ``install_audit_hook``)."""
        import types
        out = {}
        for label, _, _, _, coded, _ in self.items:
            for k, v, _ in coded:
                fn = v if type(v) is types.FunctionType else getattr(v, "__func__", v)  # (methods: their function)
                out[id(fn)] = "%s.%s" % (label, k)
        return out

    def rebased(self):
        """This snapshot taken again now, reading a function's code only where the value is not the very
        object seen before (the worker takes the snapshot once; each job retakes it when pytest has
        configured itself; pytest's own plugins add attributes to a few classes while configuring).  A
        module that gained, lost or rebound a name: everything is taken afresh (its classes may differ)."""
        if any(name in sys.modules for name in self.modules if name not in self.present):
            return Snapshot(self.modules)
        new = self._derived(self.modules, self.loaded, [])
        for item in self.items:
            label, ns, keys, vals, coded, names = item
            if ns.keys() == names and not any(map(operator.is_not, map(ns.get, keys), vals)):
                new.items.append(item)
            elif label in self.modules:
                return Snapshot(self.modules)
            else:
                new._add(label, ns, {id(v): (v, c) for _, v, c in coded})
        return new

    def scan(self, namespace, _list=list, _module_name=_module_name, _type=type, _str=str,
             _get=object.__getattribute__, _method=type(_at.__get__(0)), _kinds=(type(len), type(_at), type),
             _roots=_LIBRARY_ROOTS):
        """What a test module's namespace reaches: the packages of ``LIBRARY_MODULES`` behind its modules
        (``np`` from the solution's ``import numpy as np``, through ``import *``) and behind its functions
        and classes (``from math import isclose``; ``operator.eq`` is ``_operator``'s); and the names
        bound to a module that calls itself a watched module but is not the one the worker loaded
        (another object put in ``sys.modules``)."""
        roots, impostors = set(), []
        for k, v in _list(namespace.items()):
            name = _module_name(v)
            if name is not None:
                real = self.by_name.get(name)
                if real is not None and v is not real:
                    impostors.append(_str(k))
            else:
                if _type(v) is _method:
                    v = _get(v, "__func__")
                if _type(v) in _kinds:
                    try:
                        name = _get(v, "__module__")
                    except AttributeError:
                        pass
            if _type(name) is _str:
                root = name.split(".")[0]
                roots.add(root[1:] if root[:1] == "_" else root)
        return roots & _roots, impostors

    def only(self, roots, _tuple=tuple, _list=list, _sorted=sorted):
        """This snapshot without the ``LIBRARY_MODULES`` outside the package names ``roots`` (those one job's
        test can reach; each check then reads only those).  Cuts for none or one package are made ahead;
        a snapshot already cut (or retaken) is its own cut."""
        if not self.groups:
            return self
        new = self.cuts.get(frozenset(roots))
        if new is not None:
            return new
        items, loaded = _list(self.base[0]), _list(self.base[1])
        for root in _sorted(roots):
            group = self.groups.get(root)
            if group is not None:
                items.extend(group[0])
                loaded.extend(group[1])
        loaded = _tuple(loaded)
        return self._derived(_tuple(name for name, _ in loaded), loaded, items)

    def changed(self, codes=True, _any=any, _map=map, _zip=zip, _is_not=operator.is_not, _code_of=_code_of,
                _modules=sys.modules, _type=type, _Function=type(_at)):
        """The first name whose value (or, with ``codes``, whose function's code) is not what was seen."""
        # (builtins bound when this class was made: a job that patches them cannot blind the check)
        for name, mod in self.loaded:
            if _modules.get(name) is not mod:
                return "sys.modules[%r]" % name
        for label, ns, keys, vals, coded, _ in self.items:
            if _any(_map(_is_not, _map(ns.get, keys), vals)):
                for k, v in _zip(keys, vals):
                    if ns.get(k) is not v:
                        return "%s.%s" % (label, k)
            if not codes:
                continue
            for k, v, code in coded:
                cur_code = v.__code__ if _type(v) is _Function else _code_of(v)
                if cur_code is not code:
                    return "%s.%s.__code__" % (label, k)
        return None
