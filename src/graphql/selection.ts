/** What a field's selection asks for, read from the operation (fragments followed). */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** The type conditions (`... on T`) anywhere in the selection of the field being resolved. */
export function typeConditionsIn(info: GraphQLResolveInfo): Set<string> {
  const found = new Set<string>();
  const seen = new Set<string>();
  const walk = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (selection.typeCondition) found.add(selection.typeCondition.name.value);
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = info.fragments[name];
        if (!fragment || seen.has(name)) continue;
        seen.add(name);
        found.add(fragment.typeCondition.name.value);
        walk(fragment.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return found;
}
