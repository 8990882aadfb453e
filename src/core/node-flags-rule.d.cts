// Types of src/core/node-flags-rule.cjs.
export declare function nodeMajor(version?: string): number;
export declare function rewarddNodeFlags(version?: string): string[];
export declare function missingNodeFlags(execArgv?: readonly string[], nodeOptions?: string, version?: string): string[];
