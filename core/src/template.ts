// Message templates' `#{variable}` placeholders: one grammar for the gateway (which refuses an
// upload whose columns do not supply every variable) and the workers (which fill them in).

/** `#{name}`: up to 64 characters between the braces, trimmed. */
export const TEMPLATE_PLACEHOLDER = /#\{([^}]{1,64})\}/g;

/** Names that stand for the recipient's own name column, not a variable column. */
export const NAME_VARIABLES: ReadonlySet<string> = new Set(['name', '이름']);

/** The variables a template uses, in order of first use, without the recipient-name ones. */
export function templateVariables(template: string): string[] {
  const names = [...template.matchAll(TEMPLATE_PLACEHOLDER)].map((m) => m[1]!.trim());
  return [...new Set(names)].filter((n) => !NAME_VARIABLES.has(n));
}
