// The parts of eslint-scope pikala uses (the package ships no TypeScript declarations).
declare module 'eslint-scope' {
  import type * as ESTree from 'estree';
  export interface Reference {
    identifier: ESTree.Identifier;
    isWrite(): boolean;
    isRead(): boolean;
  }
  export interface Variable {
    name: string;
    references: Reference[];
  }
  export interface Scope {
    type: string;
    set: Map<string, Variable>;
    through: Reference[];
  }
  export interface ScopeManager {
    globalScope: Scope | null;
    acquire(node: ESTree.Node, inner?: boolean): Scope | null;
  }
  export function analyze(ast: ESTree.Node, options?: Record<string, unknown>): ScopeManager;
}
