import { quote } from '../policy/names.js';
import { MAX_PLACEMENTS } from '../policy/requests.js';
import type { ImportProblem } from './problems.js';

/**
 * The rules that need more than one row: rows with one username are one person with several placements, so
 * what they say about the person must agree, and no two people may share what KubeSphere keeps unique.
 * Only keys are kept (names, lines, a short password tag), never a row, and in few objects: a 100,000-row
 * file keeps 100,000 of these at once.
 */

/** What a valid row says, after the policy's defaults. */
export interface RowFacts {
  line: number;
  username: string;
  email: string;
  /** 48 bits of a keyed digest of the password (never the password), when the row gives one */
  passwordTag?: number;
  /** the platform role, when the row names one: an empty cell says nothing about the person */
  globalRole?: string;
  workspace?: { name: string; role: string; defaulted: boolean };
  /** `<cluster>/<project>` */
  project?: { target: string; role: string; defaulted: boolean };
}

/** One distinct placement of a person: a workspace, and maybe one of its projects. */
class Seat {
  constructor(
    readonly workspace: string,
    readonly workspaceRole: string,
    readonly workspaceDefaulted: boolean,
    readonly project: string | undefined,
    readonly projectRole: string | undefined,
    readonly projectDefaulted: boolean,
    readonly line: number,
  ) {}
}

/** Every field set in the constructor, so that V8 keeps one compact shape for all people. */
class Person {
  rows = 1;
  passwordTag: number | undefined = undefined;
  passwordLine = 0;
  globalRole: string | undefined = undefined;
  globalRoleLine = 0;
  /** the line of a row that places the person nowhere, for merging a repeat */
  bareLine = 0;
  /** most people have one placement: it is kept without a list around it */
  seats: Seat | Seat[] | undefined = undefined;

  constructor(
    readonly email: string,
    readonly emailLine: number,
    public last: number,
  ) {}
}

export interface CrossRowResult {
  problems: ImportProblem[];
  /** people the problems concern besides the row's own (the other user of an email or a project's workspace) */
  alsoHold: string[];
  /** the earlier line this row repeats: merged, with a warning */
  repeats?: number;
}

const seatsOf = (person: Person | undefined): readonly Seat[] =>
  person?.seats === undefined ? [] : Array.isArray(person.seats) ? person.seats : [person.seats];

const shown = (role: string, defaulted: boolean) => (defaulted ? `${role} (the default for an empty cell)` : role);

export class CrossRowChecks {
  private readonly people = new Map<string, Person>();
  private readonly emails = new Map<string, string>();
  private readonly projects = new Map<string, { workspace: string; line: number; username: string }>();
  /** one instance of each workspace, project and role name however many rows repeat it */
  private readonly names = new Map<string, string>();

  /** Checks a row against the rows before it and, when it agrees with them, records it. */
  add(row: RowFacts): CrossRowResult {
    const problems: ImportProblem[] = [];
    const alsoHold: string[] = [];
    const problem = (column: string, otherLine: number, message: string) =>
      problems.push({ line: row.line, column, message, otherLine });
    const person = this.people.get(row.username);
    const email = row.email.toLowerCase();
    const { workspace, project } = row;

    if (person) {
      if (person.email !== email)
        problem(
          'email',
          person.emailLine,
          `${row.username} has email ${quote(person.email)} on line ${person.emailLine}, not ${quote(email)}: one person, one email`,
        );
      if (row.passwordTag !== undefined && person.passwordTag !== undefined && row.passwordTag !== person.passwordTag)
        problem(
          'password',
          person.passwordLine,
          `${row.username} has a different password on line ${person.passwordLine}: give it on one row, or the same on each`,
        );
      if (row.globalRole && person.globalRole && row.globalRole !== person.globalRole)
        problem(
          'global_role',
          person.globalRoleLine,
          `${row.username} is ${person.globalRole} on line ${person.globalRoleLine} but ${row.globalRole} here: one platform role per person`,
        );
      if (person.rows >= MAX_PLACEMENTS)
        problem(
          'username',
          person.last,
          `${row.username} has more than ${MAX_PLACEMENTS} rows, the most one person may have`,
        );
    }
    const emailOwner = this.emails.get(email);
    if (emailOwner !== undefined && emailOwner !== row.username) {
      const ownerLine = this.people.get(emailOwner)!.emailLine;
      problem(
        'email',
        ownerLine,
        `is already the email of ${emailOwner} (line ${ownerLine}): an email belongs to one person`,
      );
      alsoHold.push(emailOwner);
    }

    const seats = seatsOf(person);
    const sameWorkspace = workspace && seats.find((seat) => seat.workspace === workspace.name);
    if (workspace && sameWorkspace && sameWorkspace.workspaceRole !== workspace.role)
      problem(
        'workspace_role',
        sameWorkspace.line,
        `${row.username} is ${shown(sameWorkspace.workspaceRole, sameWorkspace.workspaceDefaulted)} of workspace ${workspace.name} on line ${sameWorkspace.line} but ${shown(workspace.role, workspace.defaulted)} here: one role per workspace`,
      );
    const sameProject = project && seats.find((seat) => seat.project === project.target);
    if (project) {
      const home = this.projects.get(project.target);
      if (home && workspace && home.workspace !== workspace.name) {
        problem(
          'workspace',
          home.line,
          `project ${project.target} is in workspace ${home.workspace} on line ${home.line}, not ${workspace.name}: a project lives in one workspace`,
        );
        if (home.username !== row.username) alsoHold.push(home.username);
      }
      if (sameProject && sameProject.projectRole !== project.role)
        problem(
          'project_role',
          sameProject.line,
          `${row.username} is ${shown(sameProject.projectRole!, sameProject.projectDefaulted)} of project ${project.target} on line ${sameProject.line} but ${shown(project.role, project.defaulted)} here: one role per project`,
        );
    }
    if (problems.length) return { problems, alsoHold };

    // Roles agree by now, so the same workspace and project is the same placement.
    const repeats = !workspace
      ? person?.bareLine || undefined
      : project
        ? sameProject?.line
        : seats.find((seat) => seat.workspace === workspace.name && seat.project === undefined)?.line;
    this.record(row, person, email, repeats === undefined);
    return repeats === undefined ? { problems, alsoHold } : { problems, alsoHold, repeats };
  }

  /** Records what the row adds: a repeat of a placement may still be the row that gives the password. */
  private record(row: RowFacts, known: Person | undefined, email: string, newPlacement: boolean): void {
    let person = known;
    if (!person) {
      person = new Person(email, row.line, row.line);
      this.people.set(row.username, person);
      this.emails.set(email, row.username);
    } else {
      person.rows++;
      person.last = row.line;
    }
    if (row.passwordTag !== undefined && person.passwordTag === undefined) {
      person.passwordTag = row.passwordTag;
      person.passwordLine = row.line;
    }
    if (row.globalRole && person.globalRole === undefined) {
      person.globalRole = this.name(row.globalRole);
      person.globalRoleLine = row.line;
    }
    const { workspace, project } = row;
    if (!newPlacement) return;
    if (!workspace) {
      person.bareLine ||= row.line;
      return;
    }
    const seat = new Seat(
      this.name(workspace.name),
      this.name(workspace.role),
      workspace.defaulted,
      project && this.name(project.target),
      project && this.name(project.role),
      project?.defaulted ?? false,
      row.line,
    );
    if (person.seats === undefined) person.seats = seat;
    else if (Array.isArray(person.seats)) person.seats.push(seat);
    else person.seats = [person.seats, seat];
    if (project && !this.projects.has(project.target))
      this.projects.set(project.target, { workspace: workspace.name, line: row.line, username: row.username });
  }

  private name(text: string): string {
    const known = this.names.get(text);
    if (known !== undefined) return known;
    this.names.set(text, text);
    return text;
  }

  /**
   * What the people not held back add up to: the last line of each (the second pass hands a person out as
   * soon as it is read), their rows, and the workspaces and projects they are placed in.
   */
  finish(held: ReadonlySet<string>): {
    lastLines: Map<string, number>;
    rows: number;
    workspaces: string[];
    projects: string[];
  } {
    const lastLines = new Map<string, number>();
    const workspaces = new Set<string>();
    const projects = new Set<string>();
    let rows = 0;
    for (const [username, person] of this.people) {
      if (held.has(username)) continue;
      lastLines.set(username, person.last);
      rows += person.rows;
      for (const seat of seatsOf(person)) {
        workspaces.add(seat.workspace);
        if (seat.project !== undefined) projects.add(seat.project);
      }
    }
    return { lastLines, rows, workspaces: [...workspaces].sort(), projects: [...projects].sort() };
  }
}
