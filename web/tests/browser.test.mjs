// The SPA in a real headless Chromium (Debian's, driven by playwright-core), against a real Better Auth, API and
// the built SPA, each on its own origin. web/tests/test_browser.py starts them and runs one test per scenario:
//
//   EVOTODO_WEB_URL       the SPA (required)
//   EVOTODO_SCREENSHOTS   where to save screenshots (default: none)
//   JWT_SECONDS           the tokens' lifetime, so the refresh scenario can outlive one (default 3)
//   CHROMIUM              the browser (default /usr/bin/chromium)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

const WEB_URL = process.env.EVOTODO_WEB_URL;
const SHOTS = process.env.EVOTODO_SCREENSHOTS;
const JWT_SECONDS = Number(process.env.JWT_SECONDS || 3);
const PASSWORD = "correct-horse-battery-staple";

let browser;
before(async () => {
  assert.ok(WEB_URL, "EVOTODO_WEB_URL must name the SPA");
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium" });
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
});
after(async () => browser?.close());

/** Retries `check` until it passes (the UI updates after the API answers), for at most `timeout` ms. */
async function eventually(check, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const visible = (locator) => locator.first().waitFor({ state: "visible" });
const count = (locator, expected) => eventually(async () => assert.equal(await locator.count(), expected));
const hasText = (locator, part) => eventually(async () => assert.ok((await locator.innerText()).includes(part)));
const hasValue = (locator, value) => eventually(async () => assert.equal(await locator.inputValue(), value));
const checked = (locator, value) => eventually(async () => assert.equal(await locator.isChecked(), value));

async function screenshot(page, name) {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** A page of its own browser context (its own cookies: its own user), failing the test on a page error. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, timezoneId: "Europe/Paris" });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(String(error)));
  return page;
}

async function signUp(page, name, shot = null) {
  const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@example.com`;
  await page.goto(WEB_URL);
  await page.getByRole("button", { name: "No account yet? Sign up" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  if (shot) await screenshot(page, shot);
  await page.getByRole("button", { name: "Sign up", exact: true }).click();
  await hasText(page.getByTestId("who"), email);
  return email;
}

const tasks = (page) => page.getByTestId("task");
const task = (page, title) => page.locator(`[data-testid="task"][data-title="${title}"]`);

async function addTask(page, title) {
  await page.getByLabel("New task title").fill(title);
  await page.getByRole("button", { name: "Add task" }).click();
  await count(task(page, title), 1);
}

async function titles(page) {
  return tasks(page).evaluateAll((items) => items.map((item) => item.dataset.title));
}

test("two users each see only their own tasks and lists", async () => {
  const alice = await newPage();
  const bob = await newPage();
  await signUp(alice, "Alice", "sign-up");
  await signUp(bob, "Bob");
  await addTask(alice, "Alice's inbox task");
  await alice.getByLabel("New list name").fill("Alice's projects");
  await alice.getByRole("button", { name: "Add list" }).click();
  await visible(alice.getByRole("heading", { name: "Alice's projects" }));
  await addTask(alice, "Alice's project task");
  await addTask(bob, "Bob's inbox task");

  await bob.reload();
  await count(task(bob, "Bob's inbox task"), 1);
  assert.deepEqual(await titles(bob), ["Bob's inbox task"]);
  const bobsLists = bob.getByRole("navigation", { name: "Lists" }).getByRole("button");
  await eventually(async () => assert.deepEqual(await bobsLists.allInnerTexts(), ["Inbox", "Add list"]));

  await alice.reload();
  await count(task(alice, "Alice's inbox task"), 1);
  assert.deepEqual(await titles(alice), ["Alice's inbox task"]);
  await alice.getByRole("button", { name: /Alice's projects/ }).click();
  await count(task(alice, "Alice's project task"), 1);
  assert.deepEqual(await titles(alice), ["Alice's project task"]);
  await screenshot(alice, "tasks");
  assert.deepEqual([...alice.errors, ...bob.errors], []);
});

test("lists: create, select, rename, and delete moving their tasks to the inbox", async () => {
  const page = await newPage();
  await signUp(page, "Lists");
  await page.getByLabel("New list name").fill("Work");
  await page.getByRole("button", { name: "Add list" }).click();
  await visible(page.getByRole("heading", { name: "Work" }));
  await addTask(page, "Write the report");
  await visible(page.getByRole("button", { name: "Work 1" })); // its open count

  // A second list of the same name is the API's 400, shown as it says it.
  await page.getByLabel("New list name").fill("work");
  await page.getByRole("button", { name: "Add list" }).click();
  await hasText(page.getByRole("alert"), "name");

  await page.getByRole("button", { name: "Rename list" }).click();
  await page.getByLabel("List name", { exact: true }).fill("Office");
  await page.getByRole("button", { name: "Save name" }).click();
  await visible(page.getByRole("heading", { name: "Office" }));

  await page.getByRole("button", { name: "Delete list" }).click();
  await visible(page.getByText("Its 1 task(s) will move to the inbox"));
  await page.getByRole("button", { name: "Delete, moving tasks to the inbox" }).click();
  await visible(page.getByRole("heading", { name: "Inbox" }));
  await count(task(page, "Write the report"), 1);
  await count(page.getByRole("button", { name: /Office/ }), 0);
  assert.deepEqual(page.errors, []);
});

test("a recurring task: create, edit, complete, and the next one appears", async () => {
  const page = await newPage();
  await signUp(page, "Recurring");
  await addTask(page, "Water the plants");
  const row = task(page, "Water the plants");
  await row.getByRole("button", { name: "Edit Water the plants" }).click();
  await page.getByLabel("Description", { exact: true }).fill("The ones on the balcony");
  await page.getByLabel("Repeat", { exact: true }).selectOption("daily");
  await page.getByRole("button", { name: "Save" }).click();
  // No due date: the API refuses the rule, and says why.
  await visible(page.getByRole("form", { name: "Edit task" }).getByRole("alert"));
  await hasText(page.getByRole("form", { name: "Edit task" }), "due");
  await screenshot(page, "editor-error");

  await page.getByLabel("Due date", { exact: true }).fill("2030-01-15");
  await page.getByRole("button", { name: "Save" }).click();
  await count(page.getByRole("form", { name: "Edit task" }), 0);
  await hasText(row, "due 2030-01-15");
  await hasText(row, "↻ daily");
  await hasText(row, "The ones on the balcony");

  await row.getByRole("checkbox", { name: "Complete Water the plants" }).click();
  await hasText(page.getByRole("status"), "Next one due 2030-01-16");
  await count(tasks(page), 1);
  await hasText(row, "due 2030-01-16");
  await checked(row.getByRole("checkbox"), false);
  await screenshot(page, "completed-recurring");

  await page.getByLabel("Show", { exact: true }).selectOption("completed");
  await hasText(row, "due 2030-01-15");
  await checked(row.getByRole("checkbox"), true);
  assert.deepEqual(page.errors, []);
});

test("reorder with move up and down, and filter by status and tag", async () => {
  const page = await newPage();
  await signUp(page, "Order");
  for (const title of ["First", "Second", "Third"]) await addTask(page, title);
  await eventually(async () => assert.deepEqual(await titles(page), ["First", "Second", "Third"]));
  await page.getByRole("button", { name: "Move Third up" }).click();
  await eventually(async () => assert.deepEqual(await titles(page), ["First", "Third", "Second"]));
  await page.getByRole("button", { name: "Move First down" }).click();
  await eventually(async () => assert.deepEqual(await titles(page), ["Third", "First", "Second"]));
  await page.reload();
  await eventually(async () => assert.deepEqual(await titles(page), ["Third", "First", "Second"]));

  await page.getByRole("button", { name: "Edit Second" }).click();
  await page.getByLabel("Tags", { exact: true }).fill("home, errands");
  await page.getByRole("button", { name: "Save" }).click();
  await hasText(task(page, "Second"), "#home");
  await page.getByLabel("Tag", { exact: true }).selectOption("home");
  await eventually(async () => assert.deepEqual(await titles(page), ["Second"]));
  await page.getByLabel("Tag", { exact: true }).selectOption("");

  await page.getByRole("checkbox", { name: "Complete First" }).click();
  await eventually(async () => assert.deepEqual(await titles(page), ["Third", "Second"]));
  await page.getByLabel("Show", { exact: true }).selectOption("completed");
  await eventually(async () => assert.deepEqual(await titles(page), ["First"]));
  await page.getByLabel("Show", { exact: true }).selectOption("all");
  await eventually(async () => assert.deepEqual(await titles(page), ["Third", "First", "Second"]));
  await screenshot(page, "all-tasks");

  await page.getByRole("button", { name: "Delete Third" }).click();
  await eventually(async () => assert.deepEqual(await titles(page), ["First", "Second"]));
  assert.deepEqual(page.errors, []);
});

test("a token that expires during the session is refreshed without the user noticing", async () => {
  const page = await newPage();
  await signUp(page, "Expiry");
  await addTask(page, "Before expiry");

  const expired = [];
  const tokenRequests = [];
  page.on("response", async (response) => {
    if (response.status() === 401 && response.url().includes("/api/tasks")) expired.push(await response.json());
  });
  page.on("request", (request) => {
    if (request.url().endsWith("/api/auth/token")) tokenRequests.push(request.url());
  });
  // Real time: the token's exp is real time, checked by the API with no leeway.
  await page.waitForTimeout((JWT_SECONDS + 1.5) * 1000);

  await addTask(page, "After expiry");
  await count(page.getByRole("alert"), 0);
  assert.ok(expired.length >= 1, "the API should have refused the expired token");
  assert.equal(expired[0].code, "token_expired");
  assert.ok(tokenRequests.length >= 1, "the SPA should have asked Better Auth for a new token");
  await page.reload();
  // In the user's order (sort=position): a new task goes last.
  await eventually(async () => assert.deepEqual(await titles(page), ["Before expiry", "After expiry"]));
  await count(task(page, "After expiry"), 1);
  assert.deepEqual(page.errors, []);
});

test("an edit in another tab shows the conflict, and the user re-applies theirs", async () => {
  const tabA = await newPage();
  await signUp(tabA, "Conflict");
  await addTask(tabA, "Plan the trip");
  const tabB = await tabA.context().newPage(); // the same user, signed in through the same cookie
  tabB.errors = [];
  tabB.on("pageerror", (error) => tabB.errors.push(String(error)));
  await tabB.goto(WEB_URL);
  await count(task(tabB, "Plan the trip"), 1);

  await tabB.getByRole("button", { name: "Edit Plan the trip" }).click();
  await hasValue(tabB.getByLabel("Title", { exact: true }), "Plan the trip");
  await tabA.getByRole("button", { name: "Edit Plan the trip" }).click();
  await tabA.getByLabel("Title", { exact: true }).fill("Plan the trip to Lisbon");
  await tabA.getByRole("button", { name: "Save" }).click();
  await count(task(tabA, "Plan the trip to Lisbon"), 1);

  await tabB.getByLabel("Title", { exact: true }).fill("Plan the trip to Porto");
  await tabB.getByRole("button", { name: "Save" }).click();
  const conflict = tabB.getByRole("form", { name: "Edit task" }).getByRole("alert");
  await hasText(conflict, "This task was changed elsewhere");
  await hasText(conflict, "Plan the trip to Lisbon");
  await hasValue(tabB.getByLabel("Title", { exact: true }), "Plan the trip to Porto"); // the user's edit is kept
  await screenshot(tabB, "conflict");

  await tabB.getByRole("button", { name: "Save" }).click();
  await count(tabB.getByRole("form", { name: "Edit task" }), 0);
  await count(task(tabB, "Plan the trip to Porto"), 1);
  await tabA.reload();
  await count(task(tabA, "Plan the trip to Porto"), 1);
  assert.deepEqual([...tabA.errors, ...tabB.errors], []);
});

test("re-applying after a conflict keeps what the other tab changed in the fields the user left alone", async () => {
  const tabA = await newPage();
  await signUp(tabA, "Merge");
  await addTask(tabA, "Book the hotel");
  const tabB = await tabA.context().newPage();
  tabB.errors = [];
  tabB.on("pageerror", (error) => tabB.errors.push(String(error)));
  await tabB.goto(WEB_URL);
  await tabB.getByRole("button", { name: "Edit Book the hotel" }).click();
  await hasValue(tabB.getByLabel("Title", { exact: true }), "Book the hotel");
  await tabA.getByRole("button", { name: "Edit Book the hotel" }).click();
  await tabA.getByLabel("Title", { exact: true }).fill("Book the hotel in Lisbon");
  await tabA.getByRole("button", { name: "Save" }).click();
  await count(task(tabA, "Book the hotel in Lisbon"), 1);

  await tabB.getByLabel("Description", { exact: true }).fill("Near the river"); // B changes only the description
  await tabB.getByRole("button", { name: "Save" }).click();
  await hasText(tabB.getByRole("form", { name: "Edit task" }).getByRole("alert"), "This task was changed elsewhere");
  await hasValue(tabB.getByLabel("Title", { exact: true }), "Book the hotel in Lisbon"); // A's title, shown
  // (not `exact`: a label's accessible name takes in the value of the field inside it)
  await hasValue(tabB.getByRole("textbox", { name: /^Description/ }), "Near the river"); // B's edit, kept
  await tabB.getByRole("button", { name: "Save" }).click();
  await count(tabB.getByRole("form", { name: "Edit task" }), 0);
  await tabA.reload();
  await count(task(tabA, "Book the hotel in Lisbon"), 1); // A's rename survived B's save
  await hasText(task(tabA, "Book the hotel in Lisbon"), "Near the river"); // and B's description is there
  assert.deepEqual([...tabA.errors, ...tabB.errors], []);
});
