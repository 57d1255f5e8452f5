/** Vite's `?raw` imports: the file's text (waterfallSvg.ts reads the stylesheet's theme colours). */
declare module '*?raw' {
  const text: string;
  export default text;
}
