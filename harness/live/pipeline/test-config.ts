/** The `.circleci/config.yml` the pipeline's live tests push: one job on two containers, half a second each. */
export const TWO_CONTAINER_CONFIG = `version: 2.1
x-twin-duration-ms: 500
jobs:
  build:
    docker:
      - image: circleci/node:12
    parallelism: 2
    steps:
      - checkout
      - run: npm test
workflows:
  build:
    jobs:
      - build
`;
