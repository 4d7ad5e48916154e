// The SDK's fork-id rule and default header, which VSConfigs and Forks must follow so that the
// mesh and the SDK agree (DESIGN.md, "The SDK and the mesh must agree"): the SDK kernel's own
// defaults, re-exported under the names the planner uses.
export {
  DEFAULT_FORK_ID_PATTERN,
  DEFAULT_HEADER,
  DEFAULT_MAX_LENGTH,
} from '@kubefork/context';
