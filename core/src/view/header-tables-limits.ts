/** Header-table histories a DocStore keeps (each at most MAX_TAP_BLOCKS blocks, header-tap.ts). */
export const MAX_CACHED_TABLES = 8;
