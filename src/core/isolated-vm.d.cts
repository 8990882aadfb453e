// Types of src/core/isolated-vm.cjs: the isolated-vm API. tsconfig "paths" points
// 'isolated-vm-types' at whichever of the two aliases is installed (only one is, and
// their declarations are identical); nothing loads this name at run time.
import IsolatedVM = require('isolated-vm-types');
export = IsolatedVM;
