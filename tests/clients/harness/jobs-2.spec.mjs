import { suite } from "./isolation.mjs";

suite("worker-2");
