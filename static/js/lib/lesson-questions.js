// Choices for the lesson questions that lesson steps share.
import { tokenLabel } from "../vis/tokens.js";

// "Which key …" choices: the answer plus up to three other visible keys, in position order.
// Returns {choices: [text], answer: index of the answer among them}.
export function whichKeyChoices(tokens, candidates, answer) {
  const others = candidates.filter((j) => j !== answer);
  const every = Math.max(1, Math.floor(others.length / 3));
  const pick = [answer, ...others.filter((_, n) => n % every === 0).slice(0, 3)];
  pick.sort((a, b) => a - b);
  return { choices: pick.map((j) => `${tokenLabel(tokens[j])} (token ${j})`), answer: pick.indexOf(answer) };
}
