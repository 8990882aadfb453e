// Types of src/core/native-packages.cjs.
export declare const BY_NODE_MAJOR: Readonly<Record<'isolated-vm' | 'better-sqlite3', ReadonlyArray<readonly [alias: string, fromNodeMajor: number]>>>;
export declare function nativePackage(dependency: 'isolated-vm' | 'better-sqlite3', nodeMajor: number): string;
export declare function loadNative(dependency: 'isolated-vm' | 'better-sqlite3'): unknown;
