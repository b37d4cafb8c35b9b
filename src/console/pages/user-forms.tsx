import type { Child } from 'hono/jsx';
import { Csrf, FieldError } from '../layout.js';
import { ApiError } from '../management.js';
import type { Admin } from '../session.js';

/** The fields, one-button forms and tables of a user's page (user.tsx) and the user list (users.tsx). */

/** What the Management API asks of each write of a person's pages (any one of a list will do). */
export const NEEDS = {
  create: ['create:users'],
  update: ['update:users'],
  delete: ['delete:users'],
  giveRole: ['update:users', 'create:role_members'],
  takeRole: ['update:users', 'delete:role_members'],
  sessions: ['delete:sessions'],
  consents: ['delete:grants'],
} as const;

/** A refused write's message, and the field it names. */
export type Refusal = { field?: string | undefined; message: string };

/** A labelled input with the API's message under it when the message names it. */
type FieldProps = { label: string; name: string; value?: string; type?: string; required?: boolean };
export function Field(props: FieldProps & { error?: Refusal | undefined }) {
  const bad = props.error?.field === props.name;
  const secret = props.type === 'password';
  // An email is a text field asking for an email keyboard: a browser's type="email" refuses
  // letters beyond ASCII before the @, and sends an international domain in punycode.
  const email = props.type === 'email';
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={email ? 'text' : (props.type ?? 'text')}
        {...(email ? { inputmode: 'email', autocapitalize: 'none', spellcheck: false } : {})}
        value={secret ? '' : (props.value ?? '')}
        required={props.required === true}
        autocomplete={secret ? 'new-password' : 'off'}
        {...(bad ? { 'aria-invalid': 'true', 'aria-describedby': `${props.name}-error` } : {})}
      />
      <FieldError error={props.error} name={props.name} />
    </label>
  );
}

/**
 * A form of one button: POST with the CSRF token for an admin, else GET (to a confirmation page).
 * `name`: what a screen reader says when `label` alone does not say what it acts on.
 */
type ButtonProps = {
  admin?: Admin;
  action: string;
  label: string;
  fields?: Fields;
  name?: string | undefined;
};
export type Fields = Record<string, string> | undefined;
export function Button(props: ButtonProps) {
  return (
    <form method={props.admin ? 'post' : 'get'} action={props.action} class="inline">
      {props.admin ? <Csrf admin={props.admin} /> : null}
      {Object.entries(props.fields ?? {}).map(hidden)}
      <button type="submit" class="secondary" aria-label={props.name}>
        {props.label}
      </button>
    </form>
  );
}

export const hidden = ([k, v]: [string, string]) => <input type="hidden" name={k} value={v} />;
const th = (h: string) => <th>{h}</th>;
const td = (cell: Child) => <td>{cell}</td>;
const tr = (cells: Child[]) => <tr>{cells.map(td)}</tr>;
export const option = (value: string, label: string) => <option value={value}>{label}</option>;

/** A table of rows under headings, or a line saying there are none. */
export function Table(props: { head: string[]; rows: Child[][] | ApiError; empty: string }) {
  if (props.rows instanceof ApiError) return <p class="muted">{props.rows.message}</p>;
  if (props.rows.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <table class="striped">
      <thead>
        <tr>{props.head.map(th)}</tr>
      </thead>
      <tbody>{props.rows.map(tr)}</tbody>
    </table>
  );
}

/** A select and its button, posting one choice. */
export function Choose(props: {
  admin: Admin;
  action: string;
  label: string;
  name: string;
  children: Child;
}) {
  return (
    <form method="post" action={props.action} class="row">
      <Csrf admin={props.admin} />
      <label>
        {props.label}
        <select name={props.name} required>
          {props.children}
        </select>
      </label>
      <button type="submit">{props.label}</button>
    </form>
  );
}
