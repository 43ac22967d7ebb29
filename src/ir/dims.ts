// Tensor dimensions: a known integer, or a symbolic monomial (coefficient × named symbols).
// Symbols are non-negative integers (exporter dim_params such as "batch", or fresh unknowns),
// so products and exact quotients of dims can be compared without knowing their values.

/** A number, or a canonical monomial string such as "4*batch*seq" (see `monomial`). */
export type Dim = number | string;

interface Monomial { c: number; syms: string[] }

let freshCounter = 0;
/** A symbol that equals nothing but itself: for dims that inference cannot name. */
export function freshDim(hint = 'unk'): string {
  freshCounter += 1;
  return `?${hint}${freshCounter}`;
}

function parse(d: Dim): Monomial {
  if (typeof d === 'number') return { c: d, syms: [] };
  const parts = d.split('*');
  let c = 1;
  const syms: string[] = [];
  for (const p of parts) {
    if (/^-?\d+$/.test(p)) c *= Number(p);
    else syms.push(p);
  }
  return { c, syms: syms.sort() };
}

function format(m: Monomial): Dim {
  if (m.syms.length === 0 || m.c === 0) return m.c;
  return m.c === 1 ? m.syms.join('*') : `${m.c}*${m.syms.join('*')}`;
}

/** A symbol name as a Dim (escaping characters that would break the monomial form). */
export function symDim(name: string): Dim {
  const clean = name.replace(/\*/g, '_');
  return /^-?\d+$/.test(clean) ? `s${clean}` : clean;
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  const x = parse(a), y = parse(b);
  return format({ c: x.c * y.c, syms: [...x.syms, ...y.syms].sort() });
}

/** a / b when it is exact as monomials (every symbol of b cancels), else undefined. */
export function dimDiv(a: Dim, b: Dim): Dim | undefined {
  if (typeof a === 'number' && typeof b === 'number') return b !== 0 && a % b === 0 ? a / b : undefined;
  const x = parse(a), y = parse(b);
  if (y.c === 0 || x.c % y.c !== 0) return undefined;
  const syms = [...x.syms];
  for (const s of y.syms) {
    const k = syms.indexOf(s);
    if (k < 0) return undefined;
    syms.splice(k, 1);
  }
  return format({ c: x.c / y.c, syms });
}

export function dimProduct(ds: readonly Dim[]): Dim {
  return ds.reduce<Dim>((p, d) => dimMul(p, d), 1);
}

export function dimEq(a: Dim | undefined, b: Dim | undefined): boolean {
  return a !== undefined && b !== undefined && a === b;
}

export function isStatic(d: Dim | undefined): d is number {
  return typeof d === 'number';
}

export function shapeStr(s: readonly Dim[] | undefined): string {
  return s ? `[${s.join(',')}]` : '[?]';
}
