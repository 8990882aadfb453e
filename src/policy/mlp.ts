/**
 * A dense tanh MLP in plain Float32Array loops. It is the one definition of
 * the example policies' network: the trainer evaluates it millions of times
 * (no framework overhead per call), the exporters turn its weights into TF.js
 * and ONNX files, and the benchmark uses it as the no-framework baseline.
 *
 * Layout: kernels are row-major [in, out] like Keras/TF.js Dense, so weights
 * copy into the exported files without transposing.
 */
export type Activation = 'tanh' | 'linear';

export interface DenseLayer {
  readonly inputs: number;
  readonly units: number;
  /** [inputs × units], row-major: kernel[i * units + j]. */
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly activation: Activation;
}

export interface MlpSpec {
  readonly inputs: number;
  readonly hidden: readonly number[];
  readonly outputs: number;
  readonly hiddenActivation: Activation;
  readonly outputActivation: Activation;
}

export class Mlp {
  readonly layers: DenseLayer[];
  private readonly scratch: Float32Array[];

  constructor(layers: DenseLayer[]) {
    this.layers = layers;
    this.scratch = layers.map((l) => new Float32Array(l.units));
  }

  static zeros(spec: MlpSpec): Mlp {
    const sizes = [spec.inputs, ...spec.hidden, spec.outputs];
    const layers: DenseLayer[] = [];
    for (let k = 0; k + 1 < sizes.length; k++) {
      const inputs = sizes[k]!;
      const units = sizes[k + 1]!;
      layers.push({
        inputs,
        units,
        kernel: new Float32Array(inputs * units),
        bias: new Float32Array(units),
        activation: k + 2 === sizes.length ? spec.outputActivation : spec.hiddenActivation,
      });
    }
    return new Mlp(layers);
  }

  get inputs(): number {
    return this.layers[0]!.inputs;
  }
  get outputs(): number {
    return this.layers[this.layers.length - 1]!.units;
  }
  get parameterCount(): number {
    return this.layers.reduce((n, l) => n + l.kernel.length + l.bias.length, 0);
  }

  /** Copies a flat parameter vector in (layer by layer: kernel then bias). */
  setParameters(theta: ArrayLike<number>): void {
    if (theta.length !== this.parameterCount) {
      throw new RangeError(`expected ${this.parameterCount} parameters, found ${theta.length}`);
    }
    let p = 0;
    for (const l of this.layers) {
      for (let i = 0; i < l.kernel.length; i++) l.kernel[i] = theta[p++]!;
      for (let i = 0; i < l.bias.length; i++) l.bias[i] = theta[p++]!;
    }
  }

  getParameters(): Float32Array {
    const out = new Float32Array(this.parameterCount);
    let p = 0;
    for (const l of this.layers) {
      out.set(l.kernel, p);
      p += l.kernel.length;
      out.set(l.bias, p);
      p += l.bias.length;
    }
    return out;
  }

  /** One forward pass, batch 1. `out` receives the last layer's activations. */
  forward(input: ArrayLike<number>, out: Float32Array): void {
    let x: ArrayLike<number> = input;
    for (let k = 0; k < this.layers.length; k++) {
      const l = this.layers[k]!;
      const y = k + 1 === this.layers.length ? out : this.scratch[k]!;
      const { inputs, units, kernel, bias } = l;
      for (let j = 0; j < units; j++) y[j] = bias[j]!;
      for (let i = 0; i < inputs; i++) {
        const xi = x[i]!;
        if (xi === 0) continue;
        const row = i * units;
        for (let j = 0; j < units; j++) y[j]! += xi * kernel[row + j]!;
      }
      if (l.activation === 'tanh') for (let j = 0; j < units; j++) y[j] = Math.tanh(y[j]!);
      x = y;
    }
  }
}
