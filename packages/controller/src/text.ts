/** Code-unit order: the same in every locale, with any ICU data, on every Node version. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
