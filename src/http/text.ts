/**
 * A pattern for text that must show something: at least one character that
 * is not white space, a control or format character (zero-width space, BOM…)
 * or a lone combining mark. ajv compiles patterns with the `u` flag.
 */
export const VISIBLE = '[^\\s\\p{C}\\p{M}]';
