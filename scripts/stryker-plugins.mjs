import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

/**
 * Stryker plugins for `npm run mutate` (stryker.config.json, docs/mutation.md).
 *
 * `state-descriptions`: the `description` of a state in a machine's config is
 * documentation, shown in the Stately inspector (`mewld --inspect`); no
 * behaviour depends on it, so no test of behaviour can kill a mutant of it.
 * Its mutants are reported as ignored, with this reason. A description is
 * the value of a `description:` key, or an argument passed to a local
 * function's parameter named `description` (terminating() in
 * machines/instance/machine.ts).
 */
const REASON = 'a state description is documentation (shown in the Stately inspector), not behaviour';

const isDescriptionKey = (key) =>
  (key.type === 'Identifier' && key.name === 'description') || (key.type === 'StringLiteral' && key.value === 'description');

/** Whether `path` is an argument given to a parameter named `description` of a function declared in the file. */
function isDescriptionArgument(path) {
  const call = path.parentPath;
  if (!call?.isCallExpression() || call.node.callee.type !== 'Identifier' || !call.node.arguments.includes(path.node)) return false;
  const declared = call.scope.getBinding(call.node.callee.name)?.path.node;
  const param = declared?.type === 'FunctionDeclaration' ? declared.params[call.node.arguments.indexOf(path.node)] : undefined;
  return param?.type === 'Identifier' && param.name === 'description';
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'state-descriptions', {
    shouldIgnore(path) {
      if (path.isObjectProperty() && !path.node.computed && isDescriptionKey(path.node.key) && path.node.value.type !== 'Identifier') {
        return REASON;
      }
      if ((path.isStringLiteral() || path.isTemplateLiteral()) && isDescriptionArgument(path)) return REASON;
      return undefined;
    },
  }),
];
