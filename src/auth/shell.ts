// Words as a POSIX shell reads them back: for the variables `export` prints and the commands hints name.

/** POSIX shell single-quoting: safe for any byte but NUL. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A word quoted only when it is not plainly safe as it is (a path in a hint reads better bare). */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : shellQuote(word);
}
