import { CommyError } from '../errors.js'

/** `commy inject` cannot inject a document: the message names the document and the reason. */
export class InjectError extends CommyError {
  constructor(message: string) {
    super('COMMY_ERR_INJECT', message)
  }
}
