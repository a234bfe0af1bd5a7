/** Flag parsing helpers shared by the subcommands. */

/** Commander argParser for a repeatable flag: every occurrence appended, in order. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
