import { NAME_VARIABLES, TEMPLATE_PLACEHOLDER } from '@anshim/core';
/** A template refers to a variable the recipient row does not have. */
export class TemplateVariableError extends Error {
  override readonly name = 'TemplateVariableError';
  readonly reason = 'template-variable-missing';
  constructor(readonly variable: string) {
    super(`template variable #{${variable}} has no value for this recipient`);
  }
}

/** Fills `#{var}` placeholders; `name` comes from the recipient, the rest from its variables. */
export function renderTemplate(template: string, name: string, vars: Record<string, string>): string {
  return template.replace(TEMPLATE_PLACEHOLDER, (_, key: string) => {
    const k = key.trim();
    const value = NAME_VARIABLES.has(k) ? name : vars[k];
    if (value === undefined) throw new TemplateVariableError(k);
    return value;
  });
}
