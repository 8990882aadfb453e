/** Trust: who may change what the robot does (docs/security.md). */
export { generateKeyPair, fingerprintOf, publicKeyLine, parsePublicKeyLine, privateKeyFromPem, readPrivateKeyFile, type KeyPair } from './keys.js';
export { AllowedKeys, defaultAllowedKeysPath, ALLOWED_KEYS_FILE, type AllowedKey } from './allowed-keys.js';
export { signRewardPush, signEstopReset, signArm, signEpisodeNext, PushVerifier, PUSH_VERIFIER_DEFAULTS, type PushVerdict, type PushRefusalCode, type EstopResetVerdict, type PushVerifierOptions, type SignedRewardPush, type SignedEstopReset, type SignedArm, type ArmVerdict, type SignedEpisodeNext } from './signed-push.js';
export { decideArm, type ArmDecision, type ArmRule } from './arm.js';
export { decideEpisodeNext, type EpisodeNextDecision } from './episode-next.js';
export { decideEstop, verifyEstopReset, type EstopDecision, type EstopRule } from './estop-reset.js';
export { RewardFilePolicy, signRewardFile, signRewardSource, signaturePathFor, type RewardFileMode, type RewardFileVerdict } from './reward-file.js';
