/** A one-job config whose build runs `ms` (at time scale 1): long ones are still running at the snapshot. */
export const oneJobConfig = (ms: number): string => `version: 2.1
x-twin-duration-ms: ${ms}
jobs:
  build:
    docker:
      - image: cimg/base:stable
    steps:
      - run: make
workflows:
  build:
    jobs:
      - build
`;
