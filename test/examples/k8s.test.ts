// The Kubernetes examples (examples/k8s/) as the API server and spindle would read them: every
// YAML document validates against the Kubernetes schemas (kubernetes-models), and each worker
// container runs `spindle worker` with flags the CLI's own parser accepts, the Redis URL from
// the example Secret, cpu matching --workers-per-node and a grace period to finish its batches.
// The guide's code blocks are quoted from these files.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Compute } from 'spindle'
import { parseAllDocuments } from 'yaml'
import { Deployment } from 'kubernetes-models/apps/v1'
import { Job } from 'kubernetes-models/batch/v1'
import { Secret } from 'kubernetes-models/v1'
import { parseCommandLine } from '../../dist/cli/args.js'
import { unknownFields } from '../helpers/k8s-fields.js'
import { tasks as t } from '../helpers/pools.js'
import { runRedisTests, startRedisLab, type RedisLab } from '../helpers/redis.js'

const root = new URL('../../', import.meta.url)
const dir = new URL('examples/k8s/', root)
const read = (file: string) => readFileSync(new URL(file, dir), 'utf8')
const files = readdirSync(dir)
const yamlFiles = files.filter((f) => /\.ya?ml$/.test(f))

// Manifests are plain parsed YAML (any): the schemas check their types, the tests below their values.
interface Manifest {
  readonly file: string
  readonly index: number
  readonly value: any
}

const manifests: Manifest[] = yamlFiles.flatMap((file) =>
  parseAllDocuments(read(file), { uniqueKeys: true }).flatMap((doc, index) => {
    // A YAML mistake (bad indentation, a duplicate key) is an error of the document, not a throw.
    if (doc.errors.length > 0) throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`)
    const value = doc.toJS()
    return value === null ? [] : [{ file, index, value }]
  }),
)

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'batch/v1 Job': Job,
  'v1 Secret': Secret,
}

const secrets = manifests.filter((m) => m.value.kind === 'Secret').map((m) => m.value)
const workloads = manifests.filter((m) => m.value.kind === 'Deployment' || m.value.kind === 'Job')

/** What the container runs: command + args, with `$(VAR)` expanded as the kubelet does, from env. */
function argv(container: any): { argv: string[]; fromSecret: Map<string, string> } {
  const fromSecret = new Map<string, string>()
  const env = new Map<string, string>()
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef
    // A value from a Secret stands for itself as `<secret name/key>`, to be traced below.
    env.set(e.name, ref !== undefined ? `<secret ${ref.name}/${ref.key}>` : e.value)
    if (ref !== undefined) fromSecret.set(`<secret ${ref.name}/${ref.key}>`, e.name)
  }
  const words: string[] = [...(container.command ?? []), ...(container.args ?? [])]
  return {
    argv: words.map((word) =>
      word.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
        // The kubelet leaves an undefined $(VAR) as it is: the worker would dial "$(VAR)".
        if (!env.has(name)) throw new Error(`${container.name}: $(${name}) is not in its env`)
        return env.get(name)!
      }),
    ),
    fromSecret,
  }
}

/** A cpu quantity in cores: "4", "2.5", "500m". */
function cores(quantity: string | number): number {
  const text = String(quantity)
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text)
}

describe('examples/k8s', () => {
  it('has the manifests, the Dockerfile and the guide', () => {
    expect(files).toEqual(expect.arrayContaining(['worker-deployment.yaml', 'worker-job.yaml', 'redis-secret.yaml', 'Dockerfile', 'README.md']))
    expect(manifests.map((m) => m.value.kind).sort()).toEqual(['Deployment', 'Job', 'Secret'])
  })

  it.each(manifests.map((m) => [m.file, m.index, m] as const))('%s document %i validates against its Kubernetes type', (_file, _index, m) => {
    const Model = MODELS[`${m.value.apiVersion} ${m.value.kind}`]
    expect(Model, `no model for ${m.value.apiVersion} ${m.value.kind}: add one to MODELS`).toBeDefined()
    expect(() => new Model!(m.value).validate()).not.toThrow()
    expect(unknownFields(m.value), 'fields its type does not declare (kubectl would reject them)').toEqual([])
  })

  describe.each(workloads.map((m) => [m.file, m] as const))('%s', (_file, m) => {
    const pod = m.value.spec.template.spec
    const container = pod.containers[0]

    it('runs `spindle worker` with --redis and --pool, flags the CLI accepts', () => {
      expect(pod.containers).toHaveLength(1)
      const { argv: words } = argv(container)
      expect(words[0]).toBe('spindle')
      const parsed = parseCommandLine(words.slice(1)) // throws a UsageError on an unknown flag or a missing value
      expect(parsed.command).toBe('worker')
      expect(parsed.positionals).toEqual([])
      expect(parsed.values.pool).toBe('batch')
      expect(Number(parsed.values['workers-per-node'])).toBeGreaterThanOrEqual(1)
    })

    it('takes the Redis URL from the example Secret', () => {
      const { argv: words, fromSecret } = argv(container)
      const redis = parseCommandLine(words.slice(1)).values.redis as string
      expect(fromSecret.has(redis), `--redis ${redis} is not from a Secret`).toBe(true)
      const [, name, key] = /^<secret (.+)\/(.+)>$/.exec(redis)!
      const secret = secrets.find((s) => s.metadata.name === name)
      expect(secret, `no Secret "${name}" in examples/k8s`).toBeDefined()
      expect(Object.keys({ ...secret.data, ...secret.stringData })).toContain(key)
    })

    it('asks for one cpu per thread (--workers-per-node), and gives a worker time to finish its batches', () => {
      const threads = Number(parseCommandLine(argv(container).argv.slice(1)).values['workers-per-node'])
      expect(cores(container.resources.requests.cpu)).toBe(threads)
      expect(cores(container.resources.limits.cpu)).toBe(threads)
      // The default 30 s would cut short any batch longer than that (the worker waits 2 heartbeats, then its batches).
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60)
    })
  })

  it('the Job is Indexed, with parallelism and completions, and restarts no pod Always', () => {
    const job = manifests.find((m) => m.value.kind === 'Job')!.value
    expect(job.spec.completionMode).toBe('Indexed')
    expect(job.spec.completions).toBeGreaterThanOrEqual(1)
    expect(job.spec.parallelism).toBeGreaterThanOrEqual(1)
    expect(job.spec.parallelism).toBeLessThanOrEqual(job.spec.completions)
    expect(['Never', 'OnFailure']).toContain(job.spec.template.spec.restartPolicy) // the API server's rule for a Job
  })

  it('the Secret holds a rediss:// URL with a user and password', () => {
    const url = new URL(secrets[0].stringData.url)
    expect(url.protocol).toBe('rediss:')
    expect(url.username).not.toBe('')
    expect(url.password).not.toBe('')
  })

  it('the Dockerfile builds on node:20-slim and its ENTRYPOINT is the manifests\' command', () => {
    const dockerfile = read('Dockerfile')
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m)
    const entrypoint = /^ENTRYPOINT (.*)$/m.exec(dockerfile)
    expect(entrypoint, 'no ENTRYPOINT').not.toBeNull()
    // The exec form (a JSON array): the shell form would run it under `sh -c`, which does not pass SIGTERM on.
    const words = JSON.parse(entrypoint![1]!) as string[]
    expect(words).toEqual(['spindle', 'worker'])
    for (const m of workloads) expect(m.value.spec.template.spec.containers[0].command).toEqual(words)
  })

  // Each block of the guide is quoted from the file its paragraph names last ("From
  // `examples/k8s/x.yaml`:"), and each YAML or Dockerfile block of the README (where the guide
  // goes) from some file here.
  const blocks = (text: string) =>
    [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => ({ before: text.slice(0, m.index).trimEnd().split('\n').pop()!, code: m[1]! }))

  const readme = readFileSync(new URL('README.md', root), 'utf8')
  const guide = readme.slice(readme.indexOf('#### Running workers on Kubernetes'), readme.indexOf('\n### ', readme.indexOf('#### Running workers on Kubernetes')))
  const quoted = blocks(guide).map((b, i) => [i, /`examples\/k8s\/([\w.-]+)`:$/.exec(b.before)?.[1], b.code] as const)
  it.each(quoted)('the README\'s Kubernetes guide, block %i, is quoted from %s', (_i, file, code) => {
    expect(file, 'the paragraph before the block names no examples/k8s file').toBeDefined()
    expect(read(file!)).toContain(code)
  })

  it('the README\'s YAML and Dockerfile blocks are quoted from examples/k8s', () => {
    const texts = files.map(read)
    for (const [, code] of readme.matchAll(/```(?:yaml|dockerfile)\n([\s\S]*?)```/g)) {
      expect(texts.some((t) => t.includes(code!)), `not in examples/k8s:\n${code}`).toBe(true)
    }
  })
})

// The containers' own argv, run here: the Secret's URL swapped for a local redis-server's, and
// `spindle` for dist/cli/bin.js. What the schemas and the parser cannot see (the values main()
// checks, the pool a caller finds) shows here, and SIGTERM ends it as a pod stop would.
describe.runIf(runRedisTests)('the manifests\' worker command, run here', () => {
  let lab: RedisLab
  const children: ChildProcess[] = []
  beforeAll(async () => {
    lab = await startRedisLab()
  })
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL')
    await lab?.stop()
  })

  it.each(workloads.map((m) => [m.file, m] as const))('%s: joins pool "batch" with its threads, and leaves on SIGTERM with exit 0', async (_file, m) => {
    const container = m.value.spec.template.spec.containers[0]
    const { argv: words, fromSecret } = argv(container)
    const args = words.slice(1).map((word) => (fromSecret.has(word) ? lab.url : word))
    const worker = spawn(process.execPath, [new URL('dist/cli/bin.js', root).pathname, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    children.push(worker)
    let stderr = ''
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk))
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)))

    const threads = Number(parseCommandLine(args).values['workers-per-node'])
    {
      // A worker that exits (a flag main() refuses) fails the test at once, not at the start timeout.
      const starting = Compute.start({ backend: 'redis', redis: { url: lab.url, heartbeatMs: 200 }, pool: 'batch', minNodes: 1, startTimeout: 30_000 })
      const died = exited.then((code) => Promise.reject(new Error(`the worker exited with ${code} before it joined:\n${stderr}`)))
      starting.catch(() => {})
      died.catch(() => {})
      await using compute = await Promise.race([starting, died])
      const [where] = await compute.broadcast(t.info())
      expect(where!.backend).toBe('redis')
      expect(where!.workersPerNode).toBe(threads)
    }
    worker.kill('SIGTERM')
    expect(await exited, stderr).toBe(0)
    expect(await lab.admin.smembers('spindle:{batch}:workers')).toEqual([])
  })
})
