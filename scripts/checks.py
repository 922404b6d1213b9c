"""The pass/fail tally the Python test scripts print: one line per check,
then `N passed, M failed`."""


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=None):
        if ok:
            self.passed += 1
            print(f"ok   {name}", flush=True)
        else:
            self.failed += 1
            suffix = f": {detail}" if detail not in (None, "", [], set(), {}) else ""
            print(f"FAIL {name}{suffix}", flush=True)
        return ok

    @staticmethod
    def skip(name, why):
        print(f"skip {name} ({why})", flush=True)
