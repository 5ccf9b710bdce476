export * from "../_generated/containers";

export default {
  async fetch(): Promise<Response> {
    return new Response("ok");
  },
};
