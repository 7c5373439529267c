"""CPU work in nested Python functions, for `python -X perf` (CPython 3.12+): the
interpreter writes /tmp/perf-<pid>.map with a trampoline per Python function, so perf
names Python frames `py::fib:.../python_work.py`."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sort_work(n):
    data = [(i * 7919) % 10007 for i in range(n)]
    return sorted(data)[n // 2]


def main():
    total = 0
    for _ in range(6):
        total += fib(25)
        total += sort_work(200000)
    print(total)


if __name__ == "__main__":
    main()
