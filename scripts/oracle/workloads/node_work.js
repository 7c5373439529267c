// JIT-compiled JavaScript; node --perf-basic-prof writes /tmp/perf-<pid>.map.
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
const parts = [];
class Shape { area() { return 0; } }
class Square extends Shape { constructor(s) { super(); this.s = s; } area() { return this.s * this.s; } }
let sum = 0;
for (let i = 0; i < 30; i++) {
  sum += fib(24);
  for (let j = 0; j < 2000; j++) sum += new Square(j).area() % 7;
  parts.push(String(sum).split('').reverse().join(''));
}
console.log(sum, parts.length);
