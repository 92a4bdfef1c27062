/**
 * The little of the DOM that the browser tests' page functions touch. The test tsconfig has no DOM
 * lib (commy is Node code), so playwright's element types do not resolve; page functions annotate
 * their parameters with these instead of `any`.
 */
export interface DomElement {
  readonly dataset: Readonly<Record<string, string | undefined>>
  readonly textContent: string | null
  getAttribute(name: string): string | null
}

export interface DomWindow {
  readonly document: { querySelector(selector: string): DomElement | null }
}
