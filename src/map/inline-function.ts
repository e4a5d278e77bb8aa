/**
 * Self-contained functions shipped to workers by source. A function's closure cannot cross a
 * thread boundary, only its text can, so before sending we parse the text and check that every
 * name it reads is declared inside it, comes from `context`, or is a global; anything else would
 * be a ReferenceError on the worker, long after the call and far from its cause.
 */
import { parse, type AnyNode, type Expression, type Pattern, type Statement } from 'acorn'
import { InvalidOptionError, SpindleError } from '../errors.js'

/** What travels to the worker: the function's source as an expression, and the names bound from `context`. */
export interface InlineSource {
  readonly source: string
  readonly contextKeys: readonly string[]
}

type FunctionNode = Extract<AnyNode, { type: 'FunctionExpression' | 'FunctionDeclaration' | 'ArrowFunctionExpression' }>

const WRAP_ADVICE = 'wrap it in a function of your own, e.g. (x) => Math.sqrt(x)'
const NATIVE = /^function\s*[^(]*\(\)\s*\{\s*\[native code\]\s*\}$/
// esbuild with keepNames (as tsx runs it) inserts calls to `__name(fn, "name")` into function bodies.
const NAME_SHIM = '(f, n) => Object.defineProperty(f, "name", { value: n, configurable: true })'

function invalid(message: string, cause?: unknown): SpindleError {
  return new SpindleError('ERR_SPINDLE_INVALID_ARGUMENT', message, { cause })
}

// Successful checks per function and key set: repeated parallelMap calls with one function parse it once.
const checked = new WeakMap<Function, Map<string, InlineSource>>()

/** On the calling side: checks that `fn` is self-contained (apart from `contextKeys` and globals) and returns its source as an expression. */
export function inlineSource(fn: Function, contextKeys: readonly string[] = []): InlineSource {
  if (typeof fn !== 'function') throw invalid(`parallelMap needs a function, got ${typeof fn}.`)
  const keysId = contextKeys.join(',')
  const hit = checked.get(fn)?.get(keysId)
  if (hit !== undefined) return hit
  const bad = contextKeys.filter((k, i) => contextKeys.indexOf(k) !== i || !isIdentifier(k))
  if (bad.length > 0) throw new InvalidOptionError(`The context keys ${bad.map((k) => JSON.stringify(k)).join(', ')} cannot be used: each key of { context } becomes a variable on the worker, so it must be a valid, non-reserved JavaScript identifier (and appear once).`)
  const text = Function.prototype.toString.call(fn)
  if (NATIVE.test(text)) {
    throw fn.name.startsWith('bound ')
      ? invalid(`The function passed to parallelMap is a bound function (${fn.name}); its target and bound arguments cannot be sent to a worker, so ${WRAP_ADVICE.replace('Math.sqrt(x)', 'obj.method(x)')} and pass what it needs via { context }.`)
      : invalid(`The function passed to parallelMap is a built-in (${fn.name || 'anonymous'}) whose source is not available, so it cannot be sent to a worker; ${WRAP_ADVICE}.`)
  }
  const parsed = toExpression(text)
  let source = parsed.source
  const { free, usesSuper } = freeNames(parsed.node)
  if (usesSuper) throw invalid('The function passed to parallelMap uses `super`, which has no meaning once the function is re-created on a worker; use a plain function or a task module (remote(...)).')
  const known = new Set(contextKeys)
  if (free.has('__name') && !known.has('__name')) {
    // Bind the helper around the function so the source stays one self-contained expression.
    free.delete('__name')
    source = `((__name) => (${source}\n))(${NAME_SHIM})`
  }
  const missing = [...free].filter((name) => !known.has(name) && !(name in globalThis))
  if (missing.length > 0) throw notSelfContained(missing)
  const result: InlineSource = Object.freeze({ source, contextKeys: Object.freeze([...contextKeys]) })
  checked.set(fn, (checked.get(fn) ?? new Map()).set(keysId, result))
  return result
}

function notSelfContained(names: string[]): SpindleError {
  const quoted = names.map((n) => `"${n}"`)
  const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`
  const one = names.length === 1
  const hint = names.some((n) => n.startsWith('__')) ? ' (Names starting with "__" are usually helpers added by a compiler: compile for ES2022 or later, or use a task module.)' : ''
  return new SpindleError(
    'ERR_SPINDLE_NOT_SELF_CONTAINED',
    `The function passed to parallelMap uses ${list}, which ${one ? 'is' : 'are'} defined outside its body; ` +
      `functions are sent to workers as source code, so ${one ? list : 'they'} would not exist there. ` +
      `Pass ${one ? 'it' : 'them'} as data: parallelMap(items, fn, { context: { ${names.join(', ')} } }), ` +
      `or move the function into a task module and pass remote(...).fnName.${hint}`,
  )
}

/** Context keys become parameter names of the factory on the worker: plain, non-reserved identifiers only. */
function isIdentifier(name: string): boolean {
  // The pattern keeps the text a single name; the parse rejects reserved words (class, eval, ...).
  if (!/^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u.test(name)) return false
  return tryParse(`(function (${name}) {})`).expr !== undefined
}

/** Parses `text` (a function's `toString()`) into an expression that evaluates to an equivalent function. */
function toExpression(text: string): { source: string; node: FunctionNode } {
  // Strict mode, as on the worker; the newline keeps a trailing line comment from eating the `)`.
  const first = tryParse(`(${text}\n)`)
  if (first.expr?.type === 'ArrowFunctionExpression' || first.expr?.type === 'FunctionExpression') return { source: text, node: first.expr }
  if (first.expr?.type === 'ClassExpression' || /^class\b/.test(text)) {
    throw invalid('The function passed to parallelMap is a class; classes cannot be called as map functions. Pass a function, e.g. (x) => new MyClass(x).run(), with MyClass defined inside it or in a task module.')
  }
  // Method shorthand (`square(x) { ... }`, `async f()`, `*gen()`) is only valid inside an object literal.
  const second = tryParse(`({${text}\n})`)
  const prop = second.expr?.type === 'ObjectExpression' && second.expr.properties.length === 1 ? second.expr.properties[0] : undefined
  if (prop?.type === 'Property' && prop.value.type === 'FunctionExpression') {
    if (prop.kind !== 'init') throw invalid(`The function passed to parallelMap is a ${prop.kind}ter; ${WRAP_ADVICE.replace('Math.sqrt(x)', 'obj.value')}.`)
    if (prop.computed) throw invalid(`The function passed to parallelMap is a method with a computed name, which cannot be re-created from its source; ${WRAP_ADVICE}.`)
    const key = prop.key.type === 'Identifier' ? prop.key.name : prop.key.type === 'Literal' ? String(prop.key.value) : ''
    return { source: `({${text}\n})[${JSON.stringify(key)}]`, node: prop.value }
  }
  const error = first.error ?? second.error
  const why = error instanceof Error ? ` (${error.message}; it must be valid strict-mode JavaScript)` : ''
  throw invalid(`The function passed to parallelMap could not be re-created from its source ${JSON.stringify(text.slice(0, 80))}${why}; ${WRAP_ADVICE}, or use a task module (remote(...)).`, error)
}

function tryParse(code: string): { expr?: Expression; error?: unknown } {
  try {
    const program = parse(`"use strict";${code}`, { ecmaVersion: 'latest', sourceType: 'script' })
    const stmt = program.body[1]
    return program.body.length === 2 && stmt?.type === 'ExpressionStatement' ? { expr: stmt.expression } : {}
  } catch (error) {
    return { error }
  }
}

/** Names bound by a declaration pattern (`{ a, b: [c = 1], ...d }` binds a, c, d). */
function bindNames(p: Pattern, out: Set<string>): Set<string> {
  if (p.type === 'Identifier') out.add(p.name)
  else if (p.type === 'ObjectPattern') for (const q of p.properties) bindNames(q.type === 'RestElement' ? q.argument : q.value, out)
  else if (p.type === 'ArrayPattern') for (const q of p.elements) q && bindNames(q, out)
  else if (p.type === 'RestElement') bindNames(p.argument, out)
  else if (p.type === 'AssignmentPattern') bindNames(p.left, out)
  return out
}

/** Block-scoped declarations of a statement list: let/const/using, classes, functions (block-scoped in strict mode). */
function lexicalNames(body: readonly Statement[], out = new Set<string>()): Set<string> {
  for (const s of body) {
    if (s.type === 'VariableDeclaration' && s.kind !== 'var') for (const d of s.declarations) bindNames(d.id, out)
    else if ((s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration') && s.id) out.add(s.id.name)
  }
  return out
}

/** `var` declarations anywhere below `node`, not crossing into nested functions or static blocks. */
function varNames(node: AnyNode, out: Set<string>): Set<string> {
  if (node.type === 'VariableDeclaration' && node.kind === 'var') for (const d of node.declarations) bindNames(d.id, out)
  for (const child of children(node)) if (!/Function|StaticBlock/.test(child.type)) varNames(child, out)
  return out
}

function children(node: AnyNode): AnyNode[] {
  const values = (Object.values(node) as unknown[]).flat()
  return values.filter((v): v is AnyNode => typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string')
}

/** Scope analysis: every name the function reads that no scope inside it declares, and whether it uses its own `super`. */
function freeNames(root: FunctionNode): { free: Set<string>; usesSuper: boolean } {
  const scopes: Set<string>[] = []
  const free = new Set<string>()
  let usesSuper = false
  let homes = 0 // nested classes and object methods carry their own home object for `super`
  const scoped = (names: Set<string>, body: () => void, home = 0): void => {
    scopes.push(names)
    homes += home
    body()
    homes -= home
    scopes.pop()
  }
  // In a binding pattern only default values and computed keys are reads.
  const visitPattern = (p: Pattern): void => {
    if (p.type === 'ObjectPattern') for (const q of p.properties) q.type === 'RestElement' ? visitPattern(q.argument) : (q.computed && visit(q.key), visitPattern(q.value))
    else if (p.type === 'ArrayPattern') for (const q of p.elements) q && visitPattern(q)
    else if (p.type === 'RestElement') visitPattern(p.argument)
    else if (p.type === 'AssignmentPattern') (visitPattern(p.left), visit(p.right))
    else if (p.type === 'MemberExpression') visit(p)
  }
  const visitFunction = (fn: FunctionNode): void => {
    // Parameters (with a function expression's own name) form one scope, the body's declarations an inner one.
    const params = new Set(fn.type === 'FunctionExpression' && fn.id ? [fn.id.name] : [])
    for (const p of fn.params) bindNames(p, params)
    const body = fn.body
    scoped(params, () => {
      fn.params.forEach(visitPattern)
      if (body.type !== 'BlockStatement') visit(body)
      else scoped(varNames(body, lexicalNames(body.body)), () => body.body.forEach(visit))
    })
  }
  const visit = (node: AnyNode | null | undefined): void => {
    if (!node) return
    switch (node.type) {
      case 'Identifier':
        if (node.name !== 'arguments' && !scopes.some((s) => s.has(node.name))) free.add(node.name)
        return
      case 'FunctionExpression':
      case 'FunctionDeclaration':
      case 'ArrowFunctionExpression':
        return visitFunction(node)
      case 'ClassDeclaration':
      case 'ClassExpression': // its name is also visible inside the class
        visit(node.superClass)
        return scoped(new Set(node.id ? [node.id.name] : []), () => visit(node.body), 1)
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition': // `{ a: x }`, `a() {}`, `a = 1`: the key is a name, not a read
        if (node.computed) visit(node.key)
        return scoped(new Set(), () => visit(node.value), node.type === 'Property' && (node.method || node.kind !== 'init') ? 1 : 0)
      case 'MemberExpression':
        visit(node.object)
        return node.computed ? visit(node.property) : undefined
      case 'LabeledStatement':
        return visit(node.body)
      case 'BreakStatement': case 'ContinueStatement': case 'MetaProperty': case 'ThisExpression': // labels, new.target, import.meta
        return
      case 'Super':
        usesSuper ||= homes === 0
        return
      case 'BlockStatement':
        return scoped(lexicalNames(node.body), () => node.body.forEach(visit))
      case 'StaticBlock':
        return scoped(varNames(node, lexicalNames(node.body)), () => node.body.forEach(visit))
      case 'SwitchStatement':
        visit(node.discriminant)
        return scoped(lexicalNames(node.cases.flatMap((c) => c.consequent)), () => node.cases.forEach(visit))
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const head = node.type === 'ForStatement' ? node.init : node.left
        return scoped(head?.type === 'VariableDeclaration' ? lexicalNames([head]) : new Set(), () => children(node).forEach(visit))
      }
      case 'VariableDeclaration':
        for (const d of node.declarations) (visitPattern(d.id), visit(d.init))
        return
      case 'CatchClause':
        return scoped(node.param ? bindNames(node.param, new Set()) : new Set(), () => (node.param && visitPattern(node.param), visit(node.body)))
      default:
        return children(node).forEach(visit)
    }
  }
  visitFunction(root)
  return { free, usesSuper }
}

type Fn = (...args: unknown[]) => unknown
const factories = new Map<string, (...values: unknown[]) => Fn>()
const CACHE_LIMIT = 256

/** On the worker: re-creates the function with the context values in scope. Cached per (source, keys). */
export function compileInline(source: InlineSource, context: Record<string, unknown> | undefined): Fn {
  const key = `${source.contextKeys.join(',')}\n${source.source}`
  let factory = factories.get(key)
  if (factory === undefined) {
    // Building the factory costs a parse, so it is cached. The closure it returns is cheap and
    // captures the context values, which may differ (or be mutated) between calls, so it is not.
    factory = new Function(...source.contextKeys, `"use strict"; return (${source.source}\n)`) as (...values: unknown[]) => Fn
    if (factories.size >= CACHE_LIMIT) factories.delete(factories.keys().next().value as string)
    factories.set(key, factory)
  }
  return factory(...source.contextKeys.map((k) => context?.[k]))
}
