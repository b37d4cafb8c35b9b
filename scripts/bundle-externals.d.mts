/** The packages left outside the bundle (bundle-externals.mjs). */
export declare const EXTERNAL: string[];
