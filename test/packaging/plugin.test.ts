import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'

// Helm 4 decodes plugin.yaml with KnownFields(true) into MetadataV1
// (helm/helm internal/plugin/metadata_v1.go, loader.go) and the subprocess
// runtimeConfig into RuntimeConfigSubprocess / PlatformCommand
// (runtime_subprocess.go, subprocess_commands.go). postrenderer/v1 has no config fields.
const TOP = ['apiVersion', 'name', 'type', 'runtime', 'version', 'sourceURL', 'config', 'runtimeConfig']
const RUNTIME = ['platformCommand', 'platformHooks', 'protocolCommands']
const COMMAND = ['os', 'arch', 'command', 'args']
const read = (f: string): string => readFileSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)), 'utf8')

t.test('plugin.yaml has exactly the fields Helm 4 postrenderer/v1 accepts', async (t) => {
  const doc = YAML.parseDocument(read('plugin.yaml'), { uniqueKeys: true })
  t.same(doc.errors, [])
  const p = doc.toJS() as Record<string, any>
  t.same(Object.keys(p).filter((k) => !TOP.includes(k)), [], 'no unknown top-level field')
  t.equal(p.apiVersion, 'v1')
  t.equal(p.type, 'postrenderer/v1')
  t.equal(p.runtime, 'subprocess')
  t.match(p.name, /^[A-Za-z0-9_-]+$/)
  t.match(p.version, /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/, 'strict semver')
  t.equal(p.version, JSON.parse(read('package.json')).version, 'released with the package')
  t.same(Object.keys(p.config ?? {}), [], 'postrenderer/v1 has no config fields')
  t.same(Object.keys(p.runtimeConfig).filter((k) => !RUNTIME.includes(k)), [])
  t.equal(p.runtimeConfig.platformCommand.length, 1)
  for (const c of p.runtimeConfig.platformCommand) {
    t.same(Object.keys(c).filter((k) => !COMMAND.includes(k)), [])
    // Helm splits `command` on spaces and appends args, then --post-renderer-args.
    t.same([...c.command.split(' '), ...(c.args ?? [])], ['kube-postrender', 'run'])
  }
})
