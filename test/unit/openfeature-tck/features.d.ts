/** Feature files are imported as text (Vite's `?raw`). */
declare module '*.feature?raw' {
  const text: string;
  export default text;
}
