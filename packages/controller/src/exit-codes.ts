/** Exit codes shared by every `kubefork-controller` command. */
export const EXIT_OK = 0;
/** Input could not be read (the message names file and line). */
export const EXIT_INPUT = 1;
/** Wrong usage: unknown command or option, missing argument. */
export const EXIT_USAGE = 2;
/** Some VSConfigs were rejected; the rest were handled. */
export const EXIT_REJECTED = 3;
