// C++ workload for the perfold oracle: templates, std::sort with a lambda, virtual calls,
// an anonymous namespace and 2 std::threads. SCALE (argv[1], default 1.0) sets the run time,
// about 0.5 s of CPU at 1.0.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

double scale = 1.0;
volatile std::uint64_t sink;

struct Shape {
    virtual ~Shape() = default;
    virtual double area(double k) const = 0;
};

struct Circle final : Shape {
    double r;
    explicit Circle(double r) : r(r) {}
    __attribute__((noinline)) double area(double k) const override { return 3.14159 * r * r * k; }
};

struct Rect final : Shape {
    double w, h;
    Rect(double w, double h) : w(w), h(h) {}
    __attribute__((noinline)) double area(double k) const override { return w * h * k; }
};

template <typename T>
struct Accumulator {
    T total{};
    template <typename F>
    __attribute__((noinline)) void add_all(const std::vector<T> &v, F f) {
        for (const T &x : v) total += f(x);
    }
};

template <typename T>
__attribute__((noinline)) std::vector<T> make_data(std::size_t n, std::uint32_t seed) {
    std::vector<T> v(n);
    for (auto &x : v) {
        seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5;
        x = static_cast<T>(seed % 1000003);
    }
    return v;
}

template <typename T>
__attribute__((noinline)) void sort_descending(std::vector<T> &v) {
    std::sort(v.begin(), v.end(), [](const T &a, const T &b) { return a > b; });
}

__attribute__((noinline)) double shapes_round(const std::vector<std::unique_ptr<Shape>> &shapes, double k) {
    double s = 0;
    for (const auto &sh : shapes) s += sh->area(k);
    return s;
}

void sorter_thread() {
    int rounds = static_cast<int>(28 * scale) + 1;
    for (int r = 0; r < rounds; r++) {
        auto v = make_data<std::uint64_t>(80000, 777u + r);
        sort_descending(v);
        auto d = make_data<double>(20000, 99u + r);
        sort_descending(d);
        Accumulator<std::uint64_t> acc;
        acc.add_all(v, [r](std::uint64_t x) { return x * 3 + r; });
        sink += acc.total;
    }
}

void shapes_thread() {
    std::vector<std::unique_ptr<Shape>> shapes;
    for (int i = 0; i < 1000; i++) {
        if (i % 3) shapes.push_back(std::make_unique<Circle>(i * 0.5));
        else shapes.push_back(std::make_unique<Rect>(i, i + 1.0));
    }
    int rounds = static_cast<int>(40000 * scale) + 1;
    double s = 0;
    for (int r = 0; r < rounds; r++) s += shapes_round(shapes, 1.0 + r * 1e-6);
    sink += static_cast<std::uint64_t>(s) & 0xff;
}

}  // namespace

__attribute__((noinline)) static void map_work() {
    std::map<std::string, int> m;
    int rounds = static_cast<int>(1000000 * scale) + 1;
    for (int i = 0; i < rounds; i++) m["key" + std::to_string(i % 5000)] += i;
    sink += m.size();
}

int main(int argc, char **argv) {
    if (argc > 1) scale = std::atof(argv[1]);
    std::thread a(sorter_thread);
    std::thread b(shapes_thread);
    map_work();
    a.join();
    b.join();
    std::printf("%llu\n", static_cast<unsigned long long>(sink & 0xff));
    return 0;
}
