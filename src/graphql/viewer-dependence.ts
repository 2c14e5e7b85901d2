/**
 * How a field's answer depends on who asks, declared next to its resolver (kept as a field
 * extension), so that a
 * subscription event is executed once per group of viewers who all get the same answer
 * (./shared-delivery.ts) rather than once per subscriber. Undeclared fields answer the same for
 * everyone.
 *
 * - `perViewer`: differs from viewer to viewer (a chat's "other user", its summary for them).
 * - `ownerRelative`: depends only on whether the viewer owns the object (a message's `isOwn`, a
 *   user's own email). On the event's own objects (owned by the event's actor) that is "is the
 *   viewer the actor"; anywhere else it is treated as per viewer.
 * - `sameOwner`: the object it returns has the same owner as its parent (a message's sender is
 *   the message's owner), so the event's ownership carries through it.
 */
import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

type Dependence = 'perViewer' | 'ownerRelative' | 'sameOwner';

/** The field extension the declaration is kept in (resolver functions are bound: no marks on them). */
const EXTENSION = 'viewerDependence';

function declare<Resolve>(dependence: Dependence, resolve: Resolve) {
  return { resolve, extensions: { [EXTENSION]: dependence } };
}

export const perViewer = <Resolve>(resolve: Resolve) => declare('perViewer', resolve);
export const ownerRelative = <Resolve>(resolve: Resolve) => declare('ownerRelative', resolve);
export const sameOwner = <Resolve>(resolve: Resolve) => declare('sameOwner', resolve);

/**
 * Who must get their own execution of a subscription event's selection: nobody ('none', one for
 * all), the actor apart from the others ('actor'), or every viewer ('viewer').
 */
export type Audience = 'none' | 'actor' | 'viewer';

const RANK: Record<Audience, number> = { none: 0, actor: 1, viewer: 2 };
const wider = (a: Audience, b: Audience) => (RANK[a] >= RANK[b] ? a : b);

/** The declared dependence of a field selected on `type` (on an interface: any implementation's). */
function dependenceOf(schema: GraphQLSchema, type: GraphQLNamedType, field: string) {
  const types = isAbstractType(type) ? schema.getPossibleTypes(type) : [type];
  const found = new Set<Dependence | undefined>();
  for (const each of types) {
    if (isObjectType(each)) {
      found.add(each.getFields()[field]?.extensions[EXTENSION] as Dependence | undefined);
    }
  }
  if (found.has('perViewer')) return 'perViewer';
  if (found.has('ownerRelative')) return 'ownerRelative';
  // Ownership carries through only if it does in every implementation.
  return found.size === 1 && found.has('sameOwner') ? 'sameOwner' : undefined;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
}

/**
 * The audience of a selection on `type`. `owned`: the object is the event's actor's; `root`: the
 * selection is the subscription's own (each root field's result is the event's object).
 */
function selectionAudience(
  walk: Walk,
  selectionSet: SelectionSetNode,
  type: GraphQLNamedType,
  owned: boolean,
  root = false,
): Audience {
  let audience: Audience = 'none';
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const dependence = dependenceOf(walk.schema, type, selection.name.value);
      if (dependence === 'perViewer') return 'viewer';
      if (dependence === 'ownerRelative') audience = wider(audience, owned ? 'actor' : 'viewer');
      const field =
        isObjectType(type) || isInterfaceType(type)
          ? type.getFields()[selection.name.value]
          : undefined;
      if (selection.selectionSet && field) {
        const innerOwned = root || (owned && dependence === 'sameOwner');
        const inner = selectionAudience(
          walk,
          selection.selectionSet,
          getNamedType(field.type),
          innerOwned,
        );
        audience = wider(audience, inner);
      }
    } else {
      const fragment =
        selection.kind === Kind.INLINE_FRAGMENT
          ? selection
          : walk.fragments.get(selection.name.value);
      if (!fragment) continue;
      const condition =
        fragment.typeCondition && walk.schema.getType(fragment.typeCondition.name.value);
      audience = wider(
        audience,
        selectionAudience(walk, fragment.selectionSet, condition ?? type, owned, root),
      );
    }
    if (audience === 'viewer') return audience;
  }
  return audience;
}

const audiences = new WeakMap<OperationDefinitionNode, Audience>();

/** The audiences a subscription operation's answers to an event split into (fragments followed). */
export function audienceOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Audience {
  const known = audiences.get(operation);
  if (known) return known;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const root = schema.getSubscriptionType();
  const audience = root
    ? selectionAudience({ schema, fragments }, operation.selectionSet, root, true, true)
    : 'viewer';
  audiences.set(operation, audience);
  return audience;
}
