/** Escapes LIKE's wildcards so a search for "50%" means the text "50%". */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, '\\$&');
