/** How long a client has to answer an input request (a person may be filling in a form). */
export const INPUT_WAIT_MS = 10 * 60_000;
