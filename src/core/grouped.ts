/**
 * An integer with thousands separators, as `n.toLocaleString('en-US')` writes it ("2,097,152"),
 * without ICU: the first toLocaleString call of a process loads ICU's number formatting, 13-15 ms
 * here, paid by every CLI command that prints a count.
 */
export function grouped(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  const digits = String(Math.abs(r));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return r < 0 ? `-${out}` : out;
}
